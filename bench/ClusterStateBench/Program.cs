using System.Collections.Concurrent;
using System.Diagnostics;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.LocalStack;

// ClusterState benchmark (real RabbitMQ and etcd from run/infra.env): one ClusterState, run as its own process from
// ZD_BENCH_CLUSTERSTATE_DLL (default: the build next to its project; "in-process": this process's composition).
//  1. latency: engines fail one after another (paced); time from publishing the first report to the watch seeing
//     the engine's state change in etcd.
//  2. throughput: a burst of reports (every engine reported by 10 reporters) published at once; events per second
//     until every one is recorded as processed, and the publish → etcd latency of the transitions in the burst.
//  Both run twice: cold (the first incident after the process started) and warm (the same paths again).
var engines = args.Length > 0 ? int.Parse(args[0]) : 200;
const int ReportersPerEngine = 10;

var dll = Environment.GetEnvironmentVariable("ZD_BENCH_CLUSTERSTATE_DLL") is { Length: > 0 } given
    ? Path.GetFullPath(given)
    : Path.Combine(RepoPaths.Root, "services", "ClusterState", "bin", "Release", "net10.0", "clusterstate.dll");
var label = Environment.GetEnvironmentVariable("ZD_BENCH_LABEL") is { Length: > 0 } l ? l : "current";

await using var deployment = await BenchDeployment.CreateAsync();
if (dll == Path.GetFullPath("in-process")) await deployment.StartInProcessAsync();
else await deployment.StartProcessAsync(dll);
Console.WriteLine($"clusterstate bench [{label}]: {(deployment.Process is null ? "in process" : dll)}, scope {deployment.Scope}, {engines} engines per phase, {ReportersPerEngine} reports each in the burst; load average {LoadAverage()}");

// One line per figure, for bench/all.sh: "@result <bench> <label> <figure> <value>".
void Result(string figure, double value) => Console.WriteLine(FormattableString.Invariant($"@result clusterstate {label} {figure} {value:0.###}"));
static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
TimeSpan CpuTime() => deployment.Process is { } p ? RefreshedCpu(p) : Process.GetCurrentProcess().TotalProcessorTime;
static TimeSpan RefreshedCpu(Process p)
{
    p.Refresh();
    return p.TotalProcessorTime;
}

var seen = new ConcurrentDictionary<string, long>(); // engine → Stopwatch timestamp the watch saw it offline
using var watchStop = new CancellationTokenSource();
var start = (await deployment.Etcd.GetAsync("zerodisk/bench-none")).Header.Revision + 1;
var watch = EtcdWatch.RunAsync(deployment.Endpoints.EtcdEndpoints, deployment.Scope, prefix: true, start, (events, _) =>
{
    var now = Stopwatch.GetTimestamp();
    foreach (var e in events)
    {
        if (e.Type != Event.Types.EventType.Put || EtcdKeys.ClusterIdOfStorageConfig(e.Kv.Key.ToStringUtf8()) is null) continue;
        foreach (var server in ZeroDiskJson.Deserialize<StorageClusterConfig>(e.Kv.Value.ToStringUtf8()).Servers)
            if (server.State == EngineState.Offline) seen.TryAdd(server.Address, now);
    }
    return Task.CompletedTask;
}, watchStop.Token);

async Task<string[]> SeedAsync(string phase)
{
    var failing = new string[engines];
    for (var i = 0; i < engines; i++)
    {
        failing[i] = deployment.NewEngineAddress();
        await deployment.SeedClusterAsync($"{phase}{i}", failing[i], deployment.NewEngineAddress());
    }
    return failing;
}

static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

static string Summary(List<double> latencies)
{
    latencies.Sort();
    return $"p50 {Percentile(latencies, 0.50):F1} ms, p99 {Percentile(latencies, 0.99):F1} ms, max {latencies[^1]:F1} ms (n={latencies.Count})";
}

void Results(string phase, List<double> latencies)
{
    latencies.Sort();
    Result($"{phase}_p50_ms", Percentile(latencies, 0.50));
    Result($"{phase}_p99_ms", Percentile(latencies, 0.99));
}

async Task<List<double>> LatenciesAsync(string[] failing, long[] publishedAt)
{
    await Eventually.UntilAsync(() => Task.FromResult(failing.All(seen.ContainsKey)), "every engine is offline in etcd", TimeSpan.FromMinutes(3));
    return failing.Select((a, i) => Stopwatch.GetElapsedTime(publishedAt[i], seen[a]).TotalMilliseconds).ToList();
}

// Anchor, measured now on the same machine: the bare etcd transaction every transition needs at least once.
{
    var key = $"{deployment.Scope}-anchor";
    var single = new List<double>();
    for (var i = 0; i < 200; i++)
    {
        var t = Stopwatch.GetTimestamp();
        await new EtcdTransaction().ExpectVersion(key, i).Put(key, "x").CommitAsync(deployment.Etcd, CancellationToken.None);
        single.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
    }
    var concurrent = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, 32).Select(async caller =>
    {
        for (var i = 0; i < 32; i++)
            await new EtcdTransaction().ExpectVersion($"{key}-{caller}", i).Put($"{key}-{caller}", "x").CommitAsync(deployment.Etcd, CancellationToken.None);
    }));
    var txnPerSecond = 1024 / concurrent.Elapsed.TotalSeconds;
    Console.WriteLine($"anchor: etcd txn (1 compare + 1 put) one at a time {Summary(single)}; 32 callers {txnPerSecond:F0} txn/s");
    Results("anchor_txn", single);
    Result("anchor_txn_per_s", txnPerSecond);
}

// Phase 1: paced, one failure every 20 ms; phase 2: a burst. Each runs twice: first on code this ClusterState has
// never run (its first incident after a start: JIT, cold caches), then again on new engines (warm).
await PacedAsync("p", "paced");
await BurstAsync("b", "burst");
await PacedAsync("q", "paced_warm");
await BurstAsync("c", "burst_warm");

async Task PacedAsync(string prefix, string phase)
{
    var paced = await SeedAsync(prefix);
    var pacedAt = new long[engines];
    for (var i = 0; i < engines; i++)
    {
        pacedAt[i] = Stopwatch.GetTimestamp();
        await deployment.ReportFailureAsync(paced[i]);
        await Task.Delay(20);
    }
    var latencies = await LatenciesAsync(paced, pacedAt);
    var first = string.Join(", ", latencies.Take(5).Select(l => $"{l:F0}"));
    Console.WriteLine($"{phase} failures (1 per 20 ms): publish → etcd {Summary(latencies)}; the first five in order: {first} ms");
    Results(phase, latencies);
}

async Task BurstAsync(string prefix, string phase)
{
    var burst = await SeedAsync(prefix);
    var messageIds = new Guid[engines * ReportersPerEngine];
    var burstAt = new long[engines];
    var cpuBefore = CpuTime();
    var clock = Stopwatch.StartNew();
    var publishes = new List<Task>(messageIds.Length);
    for (var r = 0; r < ReportersPerEngine; r++)
    {
        for (var i = 0; i < engines; i++)
        {
            var n = r * engines + i;
            messageIds[n] = Guid.NewGuid();
            if (r == 0) burstAt[i] = Stopwatch.GetTimestamp();
            publishes.Add(deployment.ReportFailureAsync(burst[i], node: $"nbd-{r}", messageId: messageIds[n]));
        }
    }
    await Task.WhenAll(publishes);
    var published = clock.Elapsed;
    // Poll from the first report not yet seen processed on, so the check itself does not load etcd; up to etcd's 128
    // operations per transaction in one round trip, so the check keeps up with a fast burst instead of timing itself.
    var firstPending = 0;
    await Eventually.UntilAsync(async () =>
    {
        while (firstPending < messageIds.Length)
        {
            var read = new TxnRequest();
            foreach (var id in messageIds.Skip(firstPending).Take(128))
                read.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(id)), CountOnly = true } });
            var found = (await deployment.Etcd.TransactionAsync(read)).Responses.TakeWhile(r => r.ResponseRange.Count > 0).Count();
            firstPending += found;
            if (found < read.Success.Count) break;
        }
        return firstPending == messageIds.Length;
    }, "every report is processed", TimeSpan.FromMinutes(5));
    var processed = clock.Elapsed;
    var cpu = CpuTime() - cpuBefore;
    var latencies = await LatenciesAsync(burst, burstAt);
    Console.WriteLine($"{phase} of {messageIds.Length} reports ({engines} transitions): published in {published.TotalMilliseconds:F0} ms, processed in {processed.TotalMilliseconds:F0} ms = {messageIds.Length / processed.TotalSeconds:F0} events/s");
    Console.WriteLine($"{phase}: publish → etcd {Summary(latencies)}");
    Console.WriteLine(deployment.Process is null
        ? $"{phase}: CPU of this process (publisher, ClusterState, watch) {cpu.TotalMilliseconds / messageIds.Length:F2} ms per report; load average {LoadAverage()}"
        : $"{phase}: CPU of the ClusterState process {cpu.TotalMilliseconds / messageIds.Length:F2} ms per report; load average {LoadAverage()}");
    Result($"{phase}_events_per_s", messageIds.Length / processed.TotalSeconds);
    Results(phase, latencies);
    Result($"{phase}_cpu_ms_per_report", cpu.TotalMilliseconds / messageIds.Length);
}

Result("load1", double.Parse(LoadAverage().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));

await watchStop.CancelAsync();
await watch;
