using System.Diagnostics;
using System.Text;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Messaging;

// LogCollector benchmark against the shared RabbitMQ, with the collector as its own process:
//   1. throughput: events appended as fast as possible, time until the consumer has them all;
//   2. latency: one event every 10 ms, append -> consumer receives it (p50/p99/max);
//   3. backlog: the broker is unreachable (a TCP proxy is cut) while a large backlog is written; the collector's
//      peak RSS (VmHWM) must stay bounded; then the catch-up rate once the broker is back.
var throughputEvents = EnvironmentSettings.Int("ZD_BENCH_EVENTS", 50_000);
var latencyEvents = EnvironmentSettings.Int("ZD_BENCH_LATENCY_EVENTS", 1_000);
// Events relayed before the throughput phase (not measured): the phase otherwise also measures the JIT of the
// collector's publish path and of this process's consumer for the event types the one warm-up event did not use,
// while the anchor runs last, on a consumer that has long been warm.
var warmEvents = EnvironmentSettings.Int("ZD_BENCH_WARM_EVENTS", 0);
var backlogLines = EnvironmentSettings.Int("ZD_BENCH_BACKLOG_LINES", 1_000_000);
var endpoints = await LocalInfrastructure.GetAsync();
// The collector build to run (ZD_COLLECTOR_DLL, else the one next to its project) and its label in "@result" lines,
// one a figure for bench/all.sh: "@result logcollector <label> <figure> <value>".
var label = Environment.GetEnvironmentVariable("ZD_BENCH_LABEL") is { Length: > 0 } l ? l : "current";
Console.WriteLine($"logcollector bench [{label}]: {CollectorProcess.DllPath}; load average {LoadAverage()}");
void Result(string figure, double value) => Console.WriteLine(FormattableString.Invariant($"@result logcollector {label} {figure} {value:0.###}"));

// --- 1 and 2: collector connected straight to the broker
{
    var node = TestNames.Unique("bench-lc");
    using var directory = new LogDirectory();
    await using var capture = await EventCapture.StartAsync(endpoints, node);
    await using var collector = new CollectorProcess(CollectorEnvironment.For(endpoints.RabbitMqUri, node, directory.Path), directory.File(".collector.out"));
    collector.Start();
    await WarmUp(directory, capture, node);

    var files = Enumerable.Range(0, 10).Select(i => Open(directory.File($"nbd-{i}.log"))).ToArray();
    if (warmEvents > 0)
    {
        var warmBaseline = capture.Messages.UniqueCount;
        for (var i = 0; i < warmEvents; i++)
            files[i % files.Length].Write(Encoding.UTF8.GetBytes(EventLines.Event(i % EventLines.EventKinds, $"{node}-w{i}").Line + "\n"));
        await capture.Messages.WaitForAsync(s => s.UniqueCount >= warmBaseline + warmEvents, TimeSpan.FromMinutes(10), "warm-up events");
        Console.WriteLine($"throughput: {warmEvents} events relayed first to warm the collector and the consumer (not measured)");
    }
    using var collectorProcess = Process.GetProcessById(collector.Pid);
    var cpuBefore = collectorProcess.TotalProcessorTime;
    var start = Stopwatch.GetTimestamp();
    var baseline = capture.Messages.UniqueCount;
    for (var i = 0; i < throughputEvents; i++)
        files[i % files.Length].Write(Encoding.UTF8.GetBytes(EventLines.Event(i % EventLines.EventKinds, $"{node}-t{i}").Line + "\n"));
    var written = Stopwatch.GetElapsedTime(start);
    await capture.Messages.WaitForAsync(s => s.UniqueCount >= baseline + throughputEvents, TimeSpan.FromMinutes(10), "throughput events");
    var elapsed = Stopwatch.GetElapsedTime(start);
    Console.WriteLine($"throughput: {throughputEvents} events in 10 files (written in {written.TotalSeconds:F2} s), all consumed after {elapsed.TotalSeconds:F2} s: {throughputEvents / elapsed.TotalSeconds:F0} events/s sustained");
    collectorProcess.Refresh();
    var cpuPerEvent = (collectorProcess.TotalProcessorTime - cpuBefore).TotalMicroseconds / throughputEvents;
    Console.WriteLine($"throughput: collector CPU {cpuPerEvent:F0} µs per event; load average {LoadAverage()}");
    Result("throughput_events_per_s", throughputEvents / elapsed.TotalSeconds);
    Result("throughput_cpu_us_per_event", cpuPerEvent);

    var writtenAt = new long[latencyEvents];
    var latencies = new double[latencyEvents];
    var received = 0;
        var latencyToken = new System.Text.RegularExpressions.Regex($"{node}-l(\\d+)");
    capture.Messages.OnFirstDelivery = r =>
    {
        if (latencyToken.Match(r.Key) is not { Success: true } match) return;
        var seq = int.Parse(match.Groups[1].Value);
        latencies[seq] = Stopwatch.GetElapsedTime(writtenAt[seq], r.ReceivedAtTimestamp).TotalMilliseconds;
        Interlocked.Increment(ref received);
    };
    for (var i = 0; i < latencyEvents; i++)
    {
        var bytes = Encoding.UTF8.GetBytes(EventLines.Event(i % EventLines.EventKinds, $"{node}-l{i}").Line + "\n");
        writtenAt[i] = Stopwatch.GetTimestamp();
        files[i % files.Length].Write(bytes);
        await Task.Delay(10);
    }
    await capture.Messages.WaitForAsync(_ => Volatile.Read(ref received) >= latencyEvents, TimeSpan.FromMinutes(2), "latency events");
    Array.Sort(latencies);
    Console.WriteLine($"latency append -> consumer: p50 {Percentile(latencies, 0.50):F2} ms, p99 {Percentile(latencies, 0.99):F2} ms, max {latencies[^1]:F2} ms ({latencyEvents} events, one per 10 ms)");
    Console.WriteLine($"collector peak RSS (VmHWM) after throughput and latency runs: {collector.PeakRssKiB() / 1024.0:F1} MiB");
    Result("latency_p50_ms", Percentile(latencies, 0.50));
    Result("latency_p99_ms", Percentile(latencies, 0.99));
    Result("live_peak_rss_mib", collector.PeakRssKiB() / 1024.0);
    foreach (var f in files) f.Dispose();
}

// --- 3: backlog while the broker is unreachable
{
    var node = TestNames.Unique("bench-lc-backlog");
    using var directory = new LogDirectory();
    await using var capture = await EventCapture.StartAsync(endpoints, node);
    await using var proxy = new TcpProxy(endpoints.RabbitMqUri.Host, endpoints.RabbitMqUri.Port);
    proxy.Start();
    var viaProxy = new UriBuilder(endpoints.RabbitMqUri) { Port = proxy.Port }.Uri;
    await using var collector = new CollectorProcess(CollectorEnvironment.For(viaProxy, node, directory.Path), directory.File(".collector.out"));
    collector.Start();
    await WarmUp(directory, capture, node);
    var baseline = capture.Messages.UniqueCount;

    proxy.Cut();
    var files = Enumerable.Range(0, 20).Select(i => Open(directory.File($"proc-{i}.log"))).ToArray();
    var random = new Random(3);
    var events = 0;
    long bytes = 0;
    long peakKiB = 0;
    for (var i = 0; i < backlogLines; i++)
    {
        // One line in five is an event; the rest are ordinary lines of 100-400 bytes.
        var line = i % 5 == 0 ? EventLines.Event(i % EventLines.EventKinds, $"{node}-b{events++}").Line : EventLines.Ordinary(random, i);
        var data = Encoding.UTF8.GetBytes(line + "\n");
        files[i % files.Length].Write(data);
        bytes += data.Length;
        if (i % 100_000 == 0) peakKiB = Math.Max(peakKiB, collector.PeakRssKiB());
    }
    await Task.Delay(3000); // let the collector read into the backlog and retry against the dead broker
    peakKiB = Math.Max(peakKiB, collector.PeakRssKiB());
    Console.WriteLine($"backlog: {backlogLines} lines ({bytes / 1024.0 / 1024.0:F0} MiB, {events} events) written while the broker was unreachable; collector VmHWM {peakKiB / 1024.0:F1} MiB, VmRSS {collector.RssKiB() / 1024.0:F1} MiB");
    Result("backlog_peak_rss_mib", peakKiB / 1024.0);
    var restored = Stopwatch.GetTimestamp();
    proxy.Start();
    await capture.Messages.WaitForAsync(s => s.UniqueCount >= baseline + events, TimeSpan.FromMinutes(15), "backlog events");
    var catchUp = Stopwatch.GetElapsedTime(restored);
    Console.WriteLine($"catch-up: {events} events in {catchUp.TotalSeconds:F1} s after the broker came back ({events / catchUp.TotalSeconds:F0} events/s, {backlogLines / catchUp.TotalSeconds:F0} lines/s); " +
                      $"collector VmHWM {collector.PeakRssKiB() / 1024.0:F1} MiB (limit 150 MiB); duplicates dropped by MessageId: {capture.Messages.Deliveries - capture.Messages.UniqueCount}");
    Result("catchup_events_per_s", events / catchUp.TotalSeconds);
    Result("catchup_peak_rss_mib", collector.PeakRssKiB() / 1024.0);
    foreach (var f in files) f.Dispose();
}

// --- 4 (last: MassTransit's static log context outlives one host badly): the anchor: the same contracts published straight from this process (MassTransit, confirms, 256 in flight)
if (EnvironmentSettings.Int("ZD_BENCH_ANCHOR", 1) == 1)
{
    var node = TestNames.Unique("bench-anchor");
    await using var capture = await EventCapture.StartAsync(endpoints, node);
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.ClearProviders();
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [MessagingOptions.UriKey] = endpoints.RabbitMqUri.ToString() });
    builder.AddMessaging();
    using var host = builder.Build();
    await host.StartAsync();
    var bus = host.Services.GetRequiredService<IBus>();
    var start = Stopwatch.GetTimestamp();
    for (var batch = 0; batch < throughputEvents; batch += 256)
        await Task.WhenAll(Enumerable.Range(batch, Math.Min(256, throughputEvents - batch)).Select(i => bus.Publish(new StorageEngineFailureReported
        {
            Address = $"h{i}:1", Source = new EventSource { Node = node, Stream = "anchor", Offset = i, ObservedAt = DateTimeOffset.UtcNow },
        })));
    var published = Stopwatch.GetElapsedTime(start);
    await capture.Messages.WaitForAsync(s => s.UniqueCount >= throughputEvents, TimeSpan.FromMinutes(10), "anchor events");
    var elapsed = Stopwatch.GetElapsedTime(start);
    Console.WriteLine($"anchor (publish from C# directly, batches of 256 with confirms): {throughputEvents} published in {published.TotalSeconds:F2} s ({throughputEvents / published.TotalSeconds:F0}/s), consumed after {elapsed.TotalSeconds:F2} s ({throughputEvents / elapsed.TotalSeconds:F0}/s)");
    Result("anchor_published_per_s", throughputEvents / published.TotalSeconds);
    Result("anchor_consumed_per_s", throughputEvents / elapsed.TotalSeconds);
    await host.StopAsync();
}

Result("load1", double.Parse(LoadAverage().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));

static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

static FileStream Open(string path) => new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

static async Task WarmUp(LogDirectory directory, EventCapture capture, string node)
{
    var (line, key) = EventLines.Event(0, $"{node}-warmup");
    LogDirectory.AppendLine(directory.File("warmup.log"), line);
    await capture.Messages.WaitForKeysAsync([key], TimeSpan.FromSeconds(60));
}
