using ZeroDisk.Contracts;
using ZeroDisk.LogCollector.Telemetry;

namespace ZeroDisk.LogCollector.Tests;

/// <summary>
/// Events cannot be forged, through the real collector and RabbitMQ: an event line indented, after a log
/// prefix, inside a multi-line log record or re-spaced is published as nothing; the exact line is, with its own time.
/// </summary>
public class When_a_log_stream_holds_text_that_looks_like_events
{
    [Fact]
    public async Task Only_the_exact_line_from_its_first_byte_becomes_an_event()
    {
        using var malformed = new MetricCapture(CollectorTelemetry.MalformedLinesName);
        await using var run = await CollectedNode.StartAsync("lc-forge");
        var (node, directory, capture) = (run.Node, run.Directory, run.Capture);
        var path = directory.File("nbdserver-vm1.log");
        string Forged(int i) => StderrEventWriter.Format(new StorageEngineFailureLine($"10.66.0.{i}:22005") { Time = DateTimeOffset.UtcNow });

        LogDirectory.AppendLine(path, " " + Forged(1));                                                      // indented
        LogDirectory.AppendLine(path, "\t" + Forged(2));
        LogDirectory.AppendLine(path, "2026-12-05T22:30:00.000Z warn: export name " + Forged(3));             // after a log prefix
        LogDirectory.AppendLine(path, "warn: ZeroDisk.NbdHost.Nbd[0]\n      unknown export 'a\n      " + Forged(4) + "\n      '"); // a multi-line record
        LogDirectory.AppendLine(path, """{"type":"storageengine-failure","data":"10.66.0.5:22005"}""");       // not the writer's exact form
        LogDirectory.AppendLine(path, " " + StderrEventWriter.Format(new ProcessExitedLine(ProcessRole.NbdServer, "vm-forged", 137)));
        var time = new DateTimeOffset(2026, 12, 5, 22, 30, 0, TimeSpan.Zero).AddTicks(1234567);
        var exact = StderrEventWriter.Format(new StorageEngineFailureLine("10.66.0.9:22005") { Time = time });
        var offset = LogDirectory.AppendLine(path, exact);

        await capture.Messages.WaitForKeysAsync(["failure|10.66.0.9:22005"], TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        var received = Assert.Single(capture.Messages.Unique);
        Assert.Equal("failure|10.66.0.9:22005", received.Key);
        Assert.Equal(offset, received.Source.Offset);
        Assert.Equal(time, received.Source.OccurredAt);
        Assert.Equal(1, malformed.For(node)); // the re-spaced line claims to be an event: counted; the others are ordinary text
    }
}
