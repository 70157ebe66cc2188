using System.Text;
using ZeroDisk.Contracts;

namespace ZeroDisk.LocalStack.Collector;

/// <summary>
/// Log lines for tests and benchmarks: event lines with a unique token (so a consumer can tell which line a message
/// came from), ordinary lines, and every kind of garbage. Event lines are formatted by the contracts' writer.
/// </summary>
public static class EventLines
{
    public const int EventKinds = 5;

    /// <summary>An event line of kind <paramref name="kind"/> (0..4) carrying <paramref name="token"/>, and the key a consumer derives from its message.</summary>
    public static (string Line, string Key) Event(int kind, string token) => kind switch
    {
        0 => (StderrEventWriter.Format(new StorageEngineFailureLine($"h{token}:22005")), $"failure|h{token}:22005"),
        1 => (StderrEventWriter.Format(new LegacyStorageStatusLine(421, "ardb", $"l{token}:22005", 0, "primary", $"vd{token}")), $"failure|l{token}:22005"),
        2 => (StderrEventWriter.Format(new RepairCompleteLine(RepairKind.Tmp, "10.0.0.1:22005", $"r{token}")), $"repair|r{token}"),
        3 => (StderrEventWriter.Format(new RepairCompleteLine(RepairKind.Final, "10.0.0.1:22005", $"f{token}", "incident-1")), $"repair|f{token}"),
        _ => (StderrEventWriter.Format(new ProcessExitedLine(ProcessRole.NbdServer, $"p{token}", 139)), $"exited|p{token}"),
    };

    /// <summary>The key of a consumed message; lines forwarded as ordinary are keyed by their text.</summary>
    public static string KeyOf(object message) => message switch
    {
        StorageEngineFailureReported f => $"failure|{f.Address}",
        VdiskRepairCompleted r => $"repair|{r.VdiskId}",
        ProcessExited p => $"exited|{p.Id}",
        LogLineForwarded l => $"line|{l.Line}",
        _ => throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name, null),
    };

    public static string Ordinary(Random random, long seq) =>
        random.Next(4) switch
        {
            0 => $"info: serving vdisk vd{seq} on 127.0.0.1:10809",
            1 => $"{{\"level\": \"info\", \"msg\": \"flush {seq}\"}}",
            2 => $"{{\"type\": \"unknown-kind\", \"data\": {seq}}}",
            _ => $"warn: slow write {seq} " + new string('x', random.Next(0, 300)),
        };

    /// <summary>A line that must be counted as malformed (never published): bad JSON, wrong types, invalid UTF-8, binary, NUL.</summary>
    public static byte[] Garbage(Random random, long seq)
    {
        switch (random.Next(5))
        {
            case 0: return Encoding.UTF8.GetBytes($"{{\"type\": \"storageengine-failure\", \"data\": \"h{seq}:1\"");
            case 1: return Encoding.UTF8.GetBytes($"{{\"type\": \"process-exited\", \"data\": {{\"role\": \"nbdserver\", \"id\": \"g{seq}\", \"exitcode\": \"139\"}}}}");
            case 2: return [.. "{\"type\": \"storageengine-failure\", \"data\": \""u8, 0xff, 0xfe, 0xc3, .. "\"}"u8];
            case 3: return [(byte)'b', 0, (byte)'i', 0, (byte)'n'];
            default:
                var bytes = new byte[random.Next(1, 200)];
                random.NextBytes(bytes);
                bytes[0] = 0; // NUL: binary, whatever follows
                for (var i = 0; i < bytes.Length; i++)
                    if (bytes[i] == (byte)'\n') bytes[i] = 0x80;
                return bytes;
        }
    }
}
