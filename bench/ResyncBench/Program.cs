using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.LocalStack;

// Resync benchmark: NbdHost's repair-tmp-outage of N dirty blocks (the server's storage in process over a primary
// and a slave redis-server with the product's AOF settings) against two anchors, on the same engines in each round:
//  - bare copy: the same number of blocks copied by pipelined HMGET → HSET through the same client library, 16 × 64
//    blocks in flight like a repair page: what a copy costs here with no fence, no block locks and no dirty set;
//  - MIGRATE COPY: Redis's own engine-to-engine transfer of a hash of that size.
// Each timed step starts with no AOF rewrite running (they fork and compress on the same 2 cores); the forks that
// ran during a step are printed. Round 1 runs in a cold process (the JIT compiles the repair path as it goes).
// ZD_BENCH_COMMANDSTATS=1 also prints each step's INFO commandstats per engine; ZD_BENCH_WRITE_PROBE=1 runs a client
// writing during each repair and prints its write latencies (it takes a little from the repair's rate).
var commandStats = Environment.GetEnvironmentVariable("ZD_BENCH_COMMANDSTATS") == "1";
var writeProbe = Environment.GetEnvironmentVariable("ZD_BENCH_WRITE_PROBE") == "1";
var blocks = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 16384;
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;

await using var h = await ResyncServer.StartAsync();
var primary = h.Clusters.Primary[0];
var slave = h.Clusters.Slave[0];
var mib = (double)blocks * h.BlockSize / (1 << 20);
Console.WriteLine($"resync bench: {blocks} blocks of {h.BlockSize} B ({mib:F0} MiB) per step, {rounds} rounds, engines {primary.Address} → {slave.Address}");
Console.WriteLine("round | repair MiB/s (forks) | bare copy MiB/s (forks) | MIGRATE MiB/s (forks) | repair / bare copy | CPU ms per MiB, engines + this process: repair, bare copy");

var repairs = new List<double>();
var bares = new List<double>();
for (var round = 1; round <= rounds; round++)
{
    await slave.KillAsync();
    await h.WriteRandomBlocksAsync(blocks);
    await slave.RestartAsync();
    await h.SetStateAsync(ClusterSide.Slave, 0, EngineState.Offline);

    var probed = "";
    var (repair, repairForks, repairCpu) = await TimedAsync("repair", async () =>
    {
        var before = CompleteLines().Count;
        await using var probe = writeProbe ? new WriteProbe(h, blocks) : null;
        await h.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        await Eventually.TrueAsync(() => CompleteLines().Count > before, TimeSpan.FromMinutes(10), "the repair's complete line");
        if (probe is not null) probed = $"; client writes during the repair: {await probe.StopAsync()}";
        // The repair's own figure: copied blocks over its run, without the etcd round trip that started it.
        return double.Parse(Regex.Match(CompleteLines()[^1], @"([0-9.]+) MiB/s").Groups[1].Value, CultureInfo.InvariantCulture);
    });
    await h.SetStateAsync(ClusterSide.Slave, 0, EngineState.Online);

    var scratch = (RedisKey)$"resync-bench:{h.VdiskId}";
    var (bare, bareForks, bareCpu) = await TimedAsync("bare copy", async () => mib / (await BareCopyAsync(h.Inspect(primary), h.Inspect(slave), h.BlocksKey, scratch, blocks)).TotalSeconds);
    var (migrate, migrateForks, _) = await TimedAsync("MIGRATE", async () =>
    {
        var clock = Stopwatch.StartNew();
        await h.Inspect(slave).KeyMigrateAsync(scratch, new IPEndPoint(IPAddress.Loopback, primary.Port), 0, 600_000, MigrateOptions.Copy);
        return mib / clock.Elapsed.TotalSeconds;
    });
    await h.Inspect(slave).KeyDeleteAsync(scratch);
    await h.Inspect(primary).KeyDeleteAsync(scratch);

    repairs.Add(repair);
    bares.Add(bare);
    Console.WriteLine($"{round} | {repair:F1} ({repairForks}) | {bare:F1} ({bareForks}) | {migrate:F1} ({migrateForks}) | {repair / bare:F2} | {repairCpu} ; {bareCpu}{probed}");
}
var warm = rounds > 1 ? 1 : 0;
Console.WriteLine($"FIGURE resync {repairs.Skip(warm).Average():F1} MiB/s, bare copy {bares.Skip(warm).Average():F1} MiB/s, ratio {repairs.Skip(warm).Average() / bares.Skip(warm).Average():F2} (mean of rounds {1 + warm}..{rounds})");

List<string> CompleteLines() => h.Logs.Lines.Where(l => l.Contains("repair tmp", StringComparison.Ordinal) && l.Contains(" complete:", StringComparison.Ordinal)).ToList();

// Runs a step once no AOF rewrite is running on either engine; returns its figure, the forks made meanwhile and the
// CPU it cost per MiB: where a copy's time goes (the engines' Lua, AOF and fsync, or this process) is what the ratio hides.
async Task<(double Figure, long Forks, string CpuPerMib)> TimedAsync(string name, Func<Task<double>> step)
{
    foreach (var engine in new[] { primary, slave })
        await Eventually.UntilAsync(async () =>
        {
            var info = (string?)await h.Inspect(engine).ExecuteAsync("INFO", "persistence") ?? "";
            return info.Contains("aof_rewrite_in_progress:0", StringComparison.Ordinal) && info.Contains("aof_rewrite_scheduled:0", StringComparison.Ordinal);
        }, $"no AOF rewrite on {engine.Address}", TimeSpan.FromMinutes(5));
    var forks = await ForksAsync();
    var engineCpu = await EngineCpuSecondsAsync();
    var statsBefore = commandStats ? await CommandStatsAsync() : null;
    var processCpu = Environment.CpuUsage.TotalTime;
    var figure = await step();
    var enginesMs = (await EngineCpuSecondsAsync() - engineCpu) * 1000 / mib;
    var processMs = (Environment.CpuUsage.TotalTime - processCpu).TotalMilliseconds / mib;
    if (statsBefore is not null)
    {
        var statsAfter = await CommandStatsAsync();
        Console.WriteLine($"  {name}: primary{statsAfter[0].Since(statsBefore[0])}");
        Console.WriteLine($"  {name}: slave{statsAfter[1].Since(statsBefore[1])}");
    }
    return (figure, await ForksAsync() - forks, FormattableString.Invariant($"{enginesMs:F1} + {processMs:F1}"));
}

// The user and system CPU both engines have used so far (INFO cpu), in seconds.
async Task<double> EngineCpuSecondsAsync()
{
    double total = 0;
    foreach (var engine in new[] { primary, slave })
    {
        var info = (string?)await h.Inspect(engine).ExecuteAsync("INFO", "cpu") ?? "";
        foreach (Match m in Regex.Matches(info, @"used_cpu_(?:user|sys):([0-9.]+)"))
            total += double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }
    return total;
}

async Task<CommandStats[]> CommandStatsAsync() => [await CommandStats.ReadAsync(h.Inspect(primary)), await CommandStats.ReadAsync(h.Inspect(slave))];

async Task<long> ForksAsync()
{
    long total = 0;
    foreach (var engine in new[] { primary, slave })
    {
        var info = (string?)await h.Inspect(engine).ExecuteAsync("INFO", "stats") ?? "";
        total += long.Parse(Regex.Match(info, @"total_forks:(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
    }
    return total;
}

// Pages of 16 × 64 blocks in flight, as the repair copies a page: HMGET from the source, HSET to the target.
static async Task<TimeSpan> BareCopyAsync(IDatabase source, IDatabase target, RedisKey from, RedisKey to, int blocks)
{
    const int PerCall = 64, CallsPerPage = 16;
    var clock = Stopwatch.StartNew();
    for (var page = 0; page < blocks; page += PerCall * CallsPerPage)
        await Task.WhenAll(Enumerable.Range(0, CallsPerPage).Select(async call =>
        {
            var first = page + call * PerCall;
            if (first >= blocks) return;
            var fields = Enumerable.Range(first, Math.Min(PerCall, blocks - first)).Select(b => (RedisValue)b).ToArray();
            var values = await source.HashGetAsync(from, fields);
            await target.HashSetAsync(to, fields.Zip(values, (f, v) => new HashEntry(f, v)).ToArray());
        }));
    return clock.Elapsed;
}
