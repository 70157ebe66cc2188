using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace ZeroDisk.LogCollector.Tests;

/// <summary>
/// Many lines across many files — events, ordinary lines and garbage, some written while being read, files appearing
/// as it runs — while the collector process is SIGKILLed several times and the broker is unreachable for a while
/// (a TCP proxy in front of the shared RabbitMQ is cut). A consumer that deduplicates by MessageId must see every
/// event line exactly once and nothing else. Size: ZD_LC_CHAOS_LINES (default 40,000, so the
/// run stays within ~2 minutes on 2 busy cores; the full size is ZD_LC_CHAOS_LINES=100000) over
/// ZD_LC_CHAOS_FILES (50).
/// Runs alone: every capture queue on the shared broker receives its tens of thousands of messages, which would bury
/// the few lines of a test running beside it.
/// </summary>
[Collection(RunsAlone.Name)]
public class When_the_collector_is_killed_and_the_broker_is_unreachable(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_event_line_is_seen_exactly_once_after_dedup_by_MessageId_and_nothing_else()
    {
        var totalLines = EnvironmentSettings.Int("ZD_LC_CHAOS_LINES", 40_000);
        var fileCount = EnvironmentSettings.Int("ZD_LC_CHAOS_FILES", 50);
        var writeSeconds = EnvironmentSettings.Int("ZD_LC_CHAOS_WRITE_SECONDS", 15);
        var endpoints = await SharedInfrastructure.GetAsync();
        var node = TestNames.Unique("lc-chaos");
        using var directory = new LogDirectory();
        await using var capture = await EventCapture.StartAsync(endpoints, node);
        await using var proxy = new TcpProxy(endpoints.RabbitMqUri.Host, endpoints.RabbitMqUri.Port);
        proxy.Start();
        var viaProxy = new UriBuilder(endpoints.RabbitMqUri) { Port = proxy.Port }.Uri;
        await using var collector = new CollectorProcess(CollectorEnvironment.For(viaProxy, node, directory.Path), directory.File(".collector.out"));
        collector.Start();

        var clock = Stopwatch.StartNew();
        var expected = new HashSet<string>();
        var writer = Task.Run(() => WriteLines(directory, node, totalLines, fileCount, TimeSpan.FromSeconds(writeSeconds), expected));
        // Each blow lands while the collector is demonstrably publishing (progress seen by the consumer), whatever
        // the machine's speed: a kill before the first publish or after the last one would prove nothing.
        var chaos = Task.Run(async () =>
        {
            await Progress(200);
            await KillAndRestart("1st SIGKILL while publishing");
            await Progress(200);
            proxy.Cut();
            Log("broker cut");
            await Task.Delay(3000);
            await KillAndRestart("2nd SIGKILL during the outage");
            await Task.Delay(3000);
            proxy.Start();
            Log("broker reachable again");
            await Progress(200);
            await KillAndRestart("3rd SIGKILL while catching up");
        });

        void Log(string what) =>
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {clock.Elapsed.TotalSeconds:F1}s {what} ({capture.Messages.UniqueCount} unique, {capture.Messages.Deliveries} deliveries so far)");

        Task Progress(int messages)
        {
            var target = capture.Messages.UniqueCount + messages;
            return capture.Messages.WaitForAsync(s => s.UniqueCount >= target, TimeSpan.FromSeconds(90), $"{messages} more events");
        }

        async Task KillAndRestart(string what)
        {
            await collector.KillAsync();
            Log(what);
            await Task.Delay(200);
            collector.Start();
        }

        await Task.WhenAll(writer, chaos);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1}s all {totalLines} lines written ({expected.Count} events) in {fileCount} files");
        try
        {
            await capture.Messages.WaitForAsync(s => s.UniqueCount >= expected.Count, TimeSpan.FromSeconds(240), $"{expected.Count} events");
            await Task.Delay(2000); // anything extra would arrive now
        }
        finally
        {
            foreach (var line in collector.Output().Split('\n').Where(l => !l.Contains("Malformed event line") && !l.Contains("Tailing /")))
                output.WriteLine("  collector: " + line);
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F1}s {capture.Messages.UniqueCount} unique messages, {capture.Messages.Deliveries} deliveries " +
                             $"({capture.Messages.Deliveries - capture.Messages.UniqueCount} redelivered and dropped by MessageId)");
        }

        var seenKeys = capture.Messages.Unique.Select(r => r.Key).ToList();
        Assert.Empty(capture.Messages.KeysWithSeveralIds);           // no line published under two ids
        var unexpected = seenKeys.Where(k => !expected.Contains(k)).ToList();
        Assert.Empty(unexpected);                                     // nothing that was not an event line
        Assert.Empty(expected.Except(seenKeys));                      // every event line
        Assert.Equal(expected.Count, seenKeys.Count);                 // exactly once
        Assert.True(collector.IsRunning, "the collector died on its own");
        Assert.Contains("Malformed event line", collector.Output());
    }

    /// <summary>Writes the lines, creating files along the way; every 40th event is written in two parts with a pause between.</summary>
    private static async Task WriteLines(LogDirectory directory, string node, int totalLines, int fileCount, TimeSpan duration, HashSet<string> expected)
    {
        var random = new Random(7);
        var files = new List<FileStream>();
        var pauseEvery = Math.Max(1, totalLines / (int)Math.Max(1, duration.TotalMilliseconds / 50));
        try
        {
            for (var i = 0; i < totalLines; i++)
            {
                // All files exist by the half-way mark; the rest appear while the collector runs.
                while (files.Count < fileCount && files.Count <= (long)i * fileCount * 2 / totalLines)
                    files.Add(new FileStream(directory.File($"proc-{files.Count:D3}.log"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0));
                var file = files[random.Next(files.Count)];
                var dice = random.Next(100);
                if (dice < 30)
                {
                    var (line, key) = EventLines.Event(random.Next(EventLines.EventKinds), $"{node}-{i}");
                    expected.Add(key);
                    var bytes = Encoding.UTF8.GetBytes(line + "\n");
                    if (i % 40 == 0)
                    {
                        var cut = random.Next(1, bytes.Length - 1);
                        file.Write(bytes, 0, cut);
                        await Task.Delay(random.Next(1, 4));
                        file.Write(bytes, cut, bytes.Length - cut);
                    }
                    else
                    {
                        file.Write(bytes);
                    }
                }
                else if (dice < 90)
                {
                    file.Write(Encoding.UTF8.GetBytes(EventLines.Ordinary(random, i) + "\n"));
                }
                else
                {
                    file.Write([.. EventLines.Garbage(random, i), (byte)'\n']);
                }
                if (i % pauseEvery == 0) await Task.Delay(50);
            }
        }
        finally
        {
            foreach (var f in files) await f.DisposeAsync();
        }
    }
}
