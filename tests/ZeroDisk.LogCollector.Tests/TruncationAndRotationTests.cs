using System.Text.Json;
using ZeroDisk.LogCollector.Publishing;
using ZeroDisk.LogCollector.Tailing;

namespace ZeroDisk.LogCollector.Tests;

public class When_a_log_stream_is_truncated
{
    [Fact]
    public async Task A_new_event_at_offset_0_is_delivered_under_a_new_generation()
    {
        await using var run = await CollectedNode.StartAsync("lc-trunc");
        var (node, directory, capture) = (run.Node, run.Directory, run.Capture);
        var path = directory.File("nbd-vm2.log");

        var before = Enumerable.Range(0, 3).Select(i => EventLines.Event(i, $"{node}-before{i}")).ToList();
        foreach (var (line, _) in before) LogDirectory.AppendLine(path, line);
        await capture.Messages.WaitForKeysAsync(before.Select(b => b.Key), TimeSpan.FromSeconds(60));
        var firstAtZero = capture.Messages.ByKey(before[0].Key)!;
        Assert.Equal(0, firstAtZero.Source.Offset);

        using (var truncate = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            truncate.SetLength(0);
        var (after, afterKey) = EventLines.Event(4, $"{node}-after");
        Assert.Equal(0, LogDirectory.AppendLine(path, after));

        await capture.Messages.WaitForKeysAsync([afterKey], TimeSpan.FromSeconds(60));
        var rewritten = capture.Messages.ByKey(afterKey)!;
        Assert.Equal(0, rewritten.Source.Offset);
        Assert.NotEqual(firstAtZero.MessageId, rewritten.MessageId);
        var inode = FileIdentity.OfPath(path)!.Value.Inode;
        Assert.Equal(MessageIds.ForLine(node, "nbd-vm2.log", inode, 0, 0), firstAtZero.MessageId);
        Assert.Equal(MessageIds.ForLine(node, "nbd-vm2.log", inode, 1, 0), rewritten.MessageId);
        Assert.Equal(4, capture.Messages.UniqueCount);

        await capture.Messages.WaitForAsync(_ => CheckpointGeneration(directory.File(".logcollector.checkpoint")) == 1, TimeSpan.FromSeconds(10), "generation 1 in the checkpoint");
    }

    private static long CheckpointGeneration(string checkpoint)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(checkpoint));
            return doc.RootElement.GetProperty("Streams")[0].GetProperty("Generation").GetInt64();
        }
        catch (Exception ex) when (ex is IOException or JsonException or IndexOutOfRangeException or KeyNotFoundException)
        {
            return -1;
        }
    }
}

public class When_a_log_stream_is_rotated
{
    [Fact]
    public async Task Renaming_recreating_and_even_deleting_the_rotated_file_loses_nothing()
    {
        await using var run = await CollectedNode.StartAsync("lc-rotate");
        var (node, directory, capture, collector, endpoints) = (run.Node, run.Directory, run.Capture, run.Collector, run.Endpoints);
        var path = directory.File("nbd-vm3.log");

        const int lines = 3000;
        var keys = new List<string>();
        // A compressed rotation is not tailed (its lines were read before compression); this one never was.
        var (compressedLine, compressedKey) = EventLines.Event(0, $"{node}-compressed");
        LogDirectory.AppendLine(directory.File("nbd-vm3.log.3.gz"), compressedLine);
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete));
        for (var i = 0; i < lines; i++)
        {
            var (line, key) = EventLines.Event(i % EventLines.EventKinds, $"{node}-{i}");
            keys.Add(key);
            await writer.WriteLineAsync(line);
            await writer.FlushAsync();
            if (i % 20 == 0) await Task.Delay(5);
            switch (i)
            {
                case 999:
                case 1999:
                    // logrotate: rename, the process keeps writing to its old handle a little longer, then reopens.
                    File.Move(path, directory.File($"nbd-vm3.log.{i / 1000}"));
                    break;
                case 1099:
                case 2099:
                    await writer.DisposeAsync();
                    writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete));
                    if (i == 2099)
                    {
                        // Old rotations go away: once the collector holds the file open (its first line arrived),
                        // deleting it must not lose the lines it has not read yet. (A file created and deleted
                        // before the collector ever opened it cannot be read by anyone.)
                        await capture.Messages.WaitForKeysAsync([keys[1100]], TimeSpan.FromSeconds(60));
                        File.Delete(directory.File("nbd-vm3.log.1"));
                    }
                    break;
            }
        }
        await writer.DisposeAsync();

        try
        {
            await capture.Messages.WaitForKeysAsync(keys, timeout: TimeSpan.FromMinutes(6), stallTimeout: TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException timeout)
        {
            var missing = keys.Select((k, i) => (k, i)).Where(x => capture.Messages.ByKey(x.k) is null).Select(x => x.i).ToList();
            var streams = string.Join(", ", capture.Messages.Unique.GroupBy(r => r.Source.Stream).Select(g => $"{g.Key}: {g.Count()}"));
            // MassTransit logs each unconfirmed publish (S-FAULT): counted, not listed, so the collector's own lines show.
            var faults = collector.Log.Messages.Count(m => m.Contains("S-FAULT"));
            var log = collector.Log.Messages.Where(m => !m.StartsWith("Information: Bus") && !m.Contains("S-FAULT")).Take(60).Select(m => m.Length > 600 ? m[..600] : m);
            throw new Xunit.Sdk.XunitException($"{timeout.Message}: {missing.Count} lines missing, first {missing.FirstOrDefault()}, last {missing.LastOrDefault()}; received by stream: {streams}\n"
                                               + $"{await RabbitMqManagement.DescribeBrokerAsync(endpoints)}\n{faults} publishes unconfirmed (S-FAULT)\n" + string.Join("\n", log));
        }
        Assert.Empty(capture.Messages.KeysWithSeveralIds);
        Assert.Equal(lines, capture.Messages.UniqueCount);
        Assert.Null(capture.Messages.ByKey(compressedKey));
        // Lines keep the stream name of the file they were written to first (renames are followed by inode), and a
        // file the collector first saw under its rotated name (created and renamed between two looks, as happens
        // under load) is still stream nbd-vm3.log.
        Assert.All(capture.Messages.Unique, r => Assert.Equal("nbd-vm3.log", r.Source.Stream));
    }
}
