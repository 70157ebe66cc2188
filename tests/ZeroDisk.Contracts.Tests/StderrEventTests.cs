using System.Text;
using ZeroDisk.Contracts;

namespace ZeroDisk.Contracts.Tests;

public class StderrEventTests
{
    public static TheoryData<string, StderrEvent> SeedLines => new()
    {
        { """{"type": "storageengine-failure", "data": "10.100.0.1:22005"}""", new StorageEngineFailureLine("10.100.0.1:22005") },
        { """{"type": "repair-tmp-outage-complete", "data": {"address": "10.100.0.1:22005", "vdiskid": "23"}}""", new RepairCompleteLine(RepairKind.Tmp, "10.100.0.1:22005", "23") },
        { """{"type": "repair-final-outage-complete", "data": {"address": "10.100.0.1:22005", "vdiskid": "23"}}""", new RepairCompleteLine(RepairKind.Final, "10.100.0.1:22005", "23") },
        { """{"type": "repair-tmp-outage-complete", "data": {"address": "10.100.0.1:22005", "vdiskid": "23", "incident": "i-7"}}""", new RepairCompleteLine(RepairKind.Tmp, "10.100.0.1:22005", "23", "i-7") },
        { """{"type": "process-exited", "data": {"role": "nbdserver", "id": "vm1", "exitcode": 139}}""", new ProcessExitedLine(ProcessRole.NbdServer, "vm1", 139) },
        { """{"type": "process-exited", "data": {"role": "tlogserver", "id": "t1", "exitcode": -9}}""", new ProcessExitedLine(ProcessRole.TlogServer, "t1", -9) },
        { """{"type": "storageengine-failure", "data": "10.100.0.1:22005", "time": "2026-12-05T22:30:01.1234567Z"}""",
          new StorageEngineFailureLine("10.100.0.1:22005") { Time = new DateTimeOffset(2026, 12, 5, 22, 30, 1, TimeSpan.Zero).AddTicks(1_234_567) } },
        { """{"type": "process-exited", "data": {"role": "nbdserver", "id": "vm1", "exitcode": 137, "pid": 4242, "started": 987654}, "time": "2026-12-05T22:30:01.0000000Z"}""",
          new ProcessExitedLine(ProcessRole.NbdServer, "vm1", 137, 4242, 987654) { Time = new DateTimeOffset(2026, 12, 5, 22, 30, 1, TimeSpan.Zero) } },
        { """20::{"status":401,"subject":"ardb","data":{"address":"10.100.0.1:22005","db":0,"type":"primary","vdiskID":"vd1"}}""", new LegacyStorageStatusLine(401, "ardb", "10.100.0.1:22005", 0, "primary", "vd1") },
    };

    [Theory]
    [MemberData(nameof(SeedLines))]
    public void Seed_lines_round_trip_exactly(string line, StderrEvent expected)
    {
        var parsed = StderrEventParser.Parse(line);
        Assert.Equal(StderrLineKind.Event, parsed.Kind);
        Assert.Equal(expected, parsed.Event);
        Assert.Equal(line, StderrEventWriter.Format(expected));
        Assert.Equal(expected, StderrEventParser.Parse(Encoding.UTF8.GetBytes(line)).Event);
    }

    [Fact]
    public void Compact_json_of_the_same_event_is_not_the_exact_form() =>
        Assert.Equal(StderrLineKind.Malformed, StderrEventParser.Parse("""{"type":"storageengine-failure","data":"h:1"}""").Kind);

    [Theory]
    [InlineData("info: serving vdisk vd1 on 127.0.0.1:10809")]
    [InlineData("")]
    [InlineData("""{"type": "something-else", "data": 1}""")]
    [InlineData("""{"level": "info"}""")]
    public void Other_lines_are_ordinary(string line) =>
        Assert.Equal(StderrLineKind.Ordinary, StderrEventParser.Parse(line).Kind);

    [Theory]
    [InlineData("""{"type": "storageengine-failure", "data": 42}""")]
    [InlineData("""{"type": "storageengine-failure", "data": "no-port"}""")]
    [InlineData("{\"type\": \"storageengine-failure\", \"data\": \"10.100.0.1:22005\"")]
    [InlineData("""{"type": "repair-tmp-outage-complete", "data": "x"}""")]
    [InlineData("""{"type": "repair-final-outage-complete", "data": {"address": "a:1"}}""")]
    [InlineData("""{"type": "process-exited", "data": {"role": "vm", "id": "x", "exitcode": 1}}""")]
    [InlineData("""{"type": "process-exited", "data": {"role": "nbdserver", "id": "x", "exitcode": "1"}}""")]
    [InlineData("""20::{"status":"x"}""")]
    [InlineData("""20::not json""")]
    [InlineData("""20::{"status":1,"subject":"ardb","data":{"address":"a:1","type":"middle"}}""")]
    public void Broken_event_lines_are_malformed_with_a_reason(string line)
    {
        var parsed = StderrEventParser.Parse(line);
        Assert.Equal(StderrLineKind.Malformed, parsed.Kind);
        Assert.False(string.IsNullOrWhiteSpace(parsed.Error));
    }

    [Fact]
    public void Invalid_utf8_and_binary_are_malformed_not_fatal()
    {
        Assert.Equal(StderrLineKind.Malformed, StderrEventParser.Parse(new byte[] { 0x7b, 0xff, 0xfe, 0x7d }).Kind);
        Assert.Equal(StderrLineKind.Malformed, StderrEventParser.Parse(new byte[] { 0x41, 0x00, 0x42 }).Kind);
        var random = new Random(42);
        var buffer = new byte[256];
        for (var i = 0; i < 10_000; i++)
        {
            random.NextBytes(buffer);
            _ = StderrEventParser.Parse(buffer.AsSpan(0, random.Next(buffer.Length)));
        }
    }

    [Fact]
    public void Bytes_get_the_verdict_their_text_gets()
    {
        // Parse(bytes) decides ordinary lines without decoding them: it must agree with Parse(text) on every line,
        // valid and mutated (NUL, non-ASCII, a "type" key moved, a prefix cut short).
        var samples = SeedLines.Select(row => (string)row[0]).Concat(
        [
            "info: serving vdisk vd1", "", "{", "20:", "20::", "2", " {\"type\": \"storageengine-failure\"}", "é {\"type\"",
            "{\"typ\u00e9\": 1}", "{\"level\": \"x\", \"type\": \"process-exited\"}", "ordinary\0line", "{\"type\"\0}",
        ]).ToList();
        var random = new Random(19);
        const string alphabet = "{}\":, 20type\0éa\u4e2d";
        for (var i = 0; i < 5_000; i++)
        {
            var line = samples[random.Next(samples.Count)].ToCharArray().ToList();
            for (var edits = random.Next(1, 4); edits > 0; edits--)
            {
                var at = random.Next(line.Count + 1);
                if (random.Next(2) == 0 || at == line.Count) line.Insert(at, alphabet[random.Next(alphabet.Length)]);
                else line.RemoveAt(at);
            }
            samples.Add(new string([.. line]));
        }
        Assert.All(samples, line => Assert.Equal(StderrEventParser.Parse(line), StderrEventParser.Parse(Encoding.UTF8.GetBytes(line))));
    }

    [Fact]
    public void Strings_are_escaped_when_written()
    {
        var line = StderrEventWriter.Format(new RepairCompleteLine(RepairKind.Tmp, "h:1", "we\"ird"));
        Assert.Equal(new RepairCompleteLine(RepairKind.Tmp, "h:1", "we\"ird"), StderrEventParser.Parse(line).Event);
    }
}
