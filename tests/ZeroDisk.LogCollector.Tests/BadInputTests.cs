using System.Text;
using ZeroDisk.LogCollector.Telemetry;

namespace ZeroDisk.LogCollector.Tests;

/// <summary>Bad JSON, wrong types, invalid UTF-8, binary garbage and a 10 MB line: counted, logged, skipped, never fatal.</summary>
public class When_a_log_stream_holds_every_kind_of_bad_input
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Each_bad_line_is_counted_and_logged_with_file_and_offset_and_the_following_events_are_delivered()
    {
        using var malformed = new MetricCapture(CollectorTelemetry.MalformedLinesName);
        await using var run = await CollectedNode.StartAsync("lc-bad");
        var (node, directory, capture, collector) = (run.Node, run.Directory, run.Capture, run.Collector);
        var path = directory.File("nbd-vm1.log");

        var goodOffsets = new Dictionary<string, long>();
        var badOffsets = new List<long>();
        void Good(int i)
        {
            var (line, key) = EventLines.Event(i % EventLines.EventKinds, $"{node}-{i}");
            goodOffsets[key] = LogDirectory.AppendLine(path, line);
        }
        void Bad(byte[] bytes) => badOffsets.Add(LogDirectory.Append(path, [.. bytes, (byte)'\n']));

        Good(0);
        Bad("{\"type\": \"storageengine-failure\", \"data\": \"10.0.0.1:22005\""u8.ToArray());                                  // bad JSON
        Good(1);
        Bad("""{"type": "process-exited", "data": {"role": "nbdserver", "id": "vm1", "exitcode": "139"}}"""u8.ToArray());      // wrong type
        Good(2);
        Bad([.. "{\"type\": \"repair-tmp-outage-complete\", \"data\": {\"address\": \"a:1\", \"vdiskid\": \""u8, 0xc3, 0x28, .. "\"}}"u8]); // invalid UTF-8
        Good(3);
        Bad([0x7f, (byte)'E', (byte)'L', (byte)'F', 0x02, 0x01, 0x00, 0x00, 0xff, 0x13]);                                       // binary with NUL
        Good(4);

        // A 10 MB line, written in pieces so the collector meets it half-written: skipped without buffering it.
        var hugeOffset = new FileInfo(path).Length;
        var piece = Encoding.ASCII.GetBytes(new string('x', 1024 * 1024));
        for (var i = 0; i < 10; i++)
        {
            LogDirectory.Append(path, piece);
            await Task.Delay(20);
        }
        LogDirectory.Append(path, "\n"u8);
        badOffsets.Add(hugeOffset);
        Good(5);

        await capture.Messages.WaitForKeysAsync(goodOffsets.Keys, Patience);

        foreach (var (key, offset) in goodOffsets)
            Assert.Equal(offset, capture.Messages.ByKey(key)!.Source.Offset);
        Assert.Equal(goodOffsets.Count, capture.Messages.UniqueCount);
        Assert.Equal(badOffsets.Count, malformed.For(node));
        var warnings = collector.Log.Messages.Where(m => m.Contains("Malformed event line")).ToList();
        foreach (var offset in badOffsets)
            Assert.Contains(warnings, w => w.Contains($"in {path} at offset {offset} "));
        Assert.Contains(warnings, w => w.Contains("longer than"));
    }

    [Fact]
    public async Task A_line_still_being_written_is_published_only_once_it_is_complete()
    {
        using var malformed = new MetricCapture(CollectorTelemetry.MalformedLinesName);
        await using var run = await CollectedNode.StartAsync("lc-partial");
        var (node, directory, capture, collector) = (run.Node, run.Directory, run.Capture, run.Collector);
        var path = directory.File("tlog-t1.log");

        var (first, firstKey) = EventLines.Event(0, $"{node}-first");
        LogDirectory.AppendLine(path, first);
        var (partial, partialKey) = EventLines.Event(4, $"{node}-partial");
        var partialOffset = LogDirectory.Append(path, Encoding.UTF8.GetBytes(partial[..20]));
        await capture.Messages.WaitForKeysAsync([firstKey], Patience);

        // Give the collector several passes over the half line: it must neither publish nor reject it.
        await Task.Delay(1500);
        Assert.Null(capture.Messages.ByKey(partialKey));
        Assert.Equal(0, malformed.For(node));

        LogDirectory.Append(path, Encoding.UTF8.GetBytes(partial[20..] + "\n"));
        await capture.Messages.WaitForKeysAsync([partialKey], Patience);
        Assert.Equal(partialOffset, capture.Messages.ByKey(partialKey)!.Source.Offset);
        Assert.Equal(2, capture.Messages.UniqueCount);
        Assert.Equal(0, malformed.For(node));
    }
}
