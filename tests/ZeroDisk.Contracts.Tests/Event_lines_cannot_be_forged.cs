using ZeroDisk.Contracts;

namespace ZeroDisk.Contracts.Tests;

/// <summary>
/// Events cannot be forged: only the exact line the writer makes, from the line's first byte, is an
/// event. Text that contains an event — indented, after a log prefix, inside a multi-line log record, re-spaced,
/// extended — is not.
/// </summary>
public class Event_lines_cannot_be_forged
{
    private static readonly string Failure = StderrEventWriter.Format(new StorageEngineFailureLine("10.0.0.9:22005") { Time = DateTimeOffset.UnixEpoch });
    private static readonly string Exited = StderrEventWriter.Format(new ProcessExitedLine(ProcessRole.NbdServer, "vm1", 137));
    private static readonly string Legacy = StderrEventWriter.Format(new LegacyStorageStatusLine(421, "ardb", "10.0.0.9:22005", 0, "primary", "vd1"));

    [Fact]
    public void The_exact_line_is_an_event()
    {
        Assert.Equal(new StorageEngineFailureLine("10.0.0.9:22005") { Time = DateTimeOffset.UnixEpoch }, StderrEventParser.Parse(Failure).Event);
        Assert.Equal(new ProcessExitedLine(ProcessRole.NbdServer, "vm1", 137), StderrEventParser.Parse(Exited).Event);
        Assert.IsType<LegacyStorageStatusLine>(StderrEventParser.Parse(Legacy).Event);
    }

    public static TheoryData<string> Embedded => new()
    {
        " " + Failure, "\t" + Failure, "      " + Exited, " " + Legacy,                         // indented
        "info: ZeroDisk.NbdHost.Nbd[0] " + Failure,                                             // after a log prefix
        "2026-12-05T22:30:00.000Z warn: export " + Exited,
        "nbdserver-vm1: " + Legacy,
        "\"" + Failure + "\"",
        """{"Timestamp":"2026-12-05T22:30:00Z","Message":"export \u0022x\n""" + Failure.Replace("\"", "\\\"") + "\"}",
    };

    [Theory]
    [MemberData(nameof(Embedded))]
    public void An_event_inside_other_text_is_not_an_event(string line) =>
        Assert.NotEqual(StderrLineKind.Event, StderrEventParser.Parse(line).Kind);

    [Fact]
    public void No_line_of_a_multi_line_log_record_is_an_event()
    {
        // What Microsoft.Extensions.Logging's simple console formatter writes for a message holding a client's export
        // name with line feeds: the continuation lines are padded, so none starts with the event.
        var record = "warn: ZeroDisk.NbdHost.Nbd.Server[0]\n      export 'x\n      " + Failure + "\n      ' not found\n";
        Assert.All(record.Split('\n'), line => Assert.NotEqual(StderrLineKind.Event, StderrEventParser.Parse(line).Kind));
        // An exception's stack trace, written by the same formatter.
        var trace = "fail: ZeroDisk.NbdHost[0]\n      System.IO.IOException: bad name " + Failure + "\n         at ZeroDisk.Nbd.Handshake()";
        Assert.All(trace.Split('\n'), line => Assert.NotEqual(StderrLineKind.Event, StderrEventParser.Parse(line).Kind));
    }

    public static TheoryData<string> NotExact => new()
    {
        """{"type":"storageengine-failure","data":"10.0.0.9:22005"}""",                          // re-spaced
        """{"type": "storageengine-failure",  "data": "10.0.0.9:22005"}""",
        """{"data": "10.0.0.9:22005", "type": "storageengine-failure"}""",                        // reordered
        """{"type": "storageengine-failure", "data": "10.0.0.9:22005", "from": "client"}""",      // an unknown field
        """{"type": "storageengine-failure", "data": "10.0.0.9:22005"} """,                      // trailing text
        """{"type": "storageengine-failure", "data": "10.0.0.9:22005", "time": "yesterday"}""",  // a time not in the writer's form
        """{"type": "storageengine-failure", "data": "10.0.0.9:22005", "time": "2026-12-05T22:30:00Z"}""",
        """{"type": "storageengine-failure", "data": "10.0.0.9:22005", "type": "storageengine-failure"}""", // duplicated key
        """20:: {"status":421,"subject":"ardb","data":{"address":"10.0.0.9:22005","db":0,"type":"primary"}}""",
    };

    [Theory]
    [MemberData(nameof(NotExact))]
    public void A_line_that_is_not_the_writers_exact_form_is_malformed_not_an_event(string line)
    {
        var parsed = StderrEventParser.Parse(line);
        Assert.Equal(StderrLineKind.Malformed, parsed.Kind);
        Assert.Null(parsed.Event);
    }

    [Fact]
    public void Client_text_in_an_event_field_is_escaped_and_cannot_end_the_line()
    {
        var line = StderrEventWriter.Format(new RepairCompleteLine(RepairKind.Tmp, "h:1", "vd\n" + Failure + "\r\n"));
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\r', line);
        Assert.Equal(new RepairCompleteLine(RepairKind.Tmp, "h:1", "vd\n" + Failure + "\r\n"), StderrEventParser.Parse(line).Event);
    }
}
