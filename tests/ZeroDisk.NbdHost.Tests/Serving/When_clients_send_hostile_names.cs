using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// Events cannot be forged, against a real <c>nbdhost serve</c>: a client with no credentials sends export names and
/// option payloads holding CR, LF and a whole <c>storageengine-failure</c> event line; whatever the server logs of
/// them (at debug level, the most it logs), none of its output lines — stdout or stderr — is accepted by the event
/// parser the node's collector uses, and every log record is one line.
/// </summary>
public sealed partial class When_clients_send_hostile_names(ITestOutputHelper output) : ServeProcessTest(output)
{
    private const string Forged = """{"type": "storageengine-failure", "data": "1.2.3.4:5"}""";

    private static readonly string[] HostileNames =
    [
        "x\n" + Forged,
        "x\r\n" + Forged + "\n",
        "\r" + Forged,
        Forged,
        "   " + Forged,
        "x\u2028" + Forged + "\u0085" + Forged,
    ];

    protected override IReadOnlyDictionary<string, string> ServeEnvironment { get; } = new Dictionary<string, string>
    {
        ["Logging__LogLevel__Default"] = "Debug",
    };

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trce|dbug|info|warn|fail|crit): \S")]
    private static partial Regex LogRecordStart();

    [Fact]
    public async Task No_output_line_is_an_event_and_every_record_is_one_line()
    {
        foreach (var name in HostileNames)
        {
            // NBD_OPT_EXPORT_NAME with the name: unknown, so the server logs it and closes.
            await using (var plain = await RawNbdSession.ConnectAsync(Serve.Port, clientFlags: 0))
            {
                await plain.SendOptionAsync(RawNbdSession.OptExportName, Encoding.UTF8.GetBytes(name));
                Assert.True(await plain.ClosedByServerAsync(TimeSpan.FromSeconds(30)));
            }
            await using var session = await RawNbdSession.ConnectAsync(Serve.Port);
            foreach (var option in new[] { RawNbdSession.OptInfo, RawNbdSession.OptGo })
            {
                await session.SendOptionAsync(option, RawNbdSession.NameAndInfos(name));
                Assert.Equal(0x80000006u, (await session.ReadOptionReplyAsync()).Type); // NBD_REP_ERR_UNKNOWN
            }
            await session.SendOptionAsync(RawNbdSession.OptListMetaContext, MetaContextRequest(name, name));
            await ReadUntilFinalReplyAsync(session);
            await session.SendOptionAsync(RawNbdSession.OptList, Encoding.UTF8.GetBytes(name)); // LIST takes no data
            await ReadUntilFinalReplyAsync(session);
            await session.SendOptionAsync(0x4242, Encoding.UTF8.GetBytes(name)); // unknown option, hostile payload
            await ReadUntilFinalReplyAsync(session);
            await session.SendOptionAsync(RawNbdSession.OptExportName, Encoding.UTF8.GetBytes(name));
            Assert.True(await session.ClosedByServerAsync(TimeSpan.FromSeconds(30)));
        }
        // A real client asking for such a name, too.
        var qemu = await ExternalProcess.RunAsync("qemu-io",
            ["-f", "raw", "-c", "read 0 512", $"nbd://127.0.0.1:{Serve.Port}/{Uri.EscapeDataString(HostileNames[0])}"], TimeSpan.FromSeconds(60));
        Assert.Contains("export not available", qemu.StdErr);
        // The server still serves its vdisk.
        await QemuIoAsync("write -P 0x5a 0 64k", "read -P 0x5a 0 64k");

        await Task.Delay(TimeSpan.FromSeconds(1)); // the console logger writes from its own queue
        var lines = Serve.StdoutLines.Select(l => ("stdout", l)).Concat(Serve.StderrLines.Select(l => ("stderr", l))).ToList();
        Assert.Contains(lines, l => l.Item2.Contains("storageengine-failure", StringComparison.Ordinal)); // it was logged, escaped
        foreach (var (stream, line) in lines)
        {
            var parsed = StderrEventParser.Parse(line);
            Assert.True(parsed.Kind == StderrLineKind.Ordinary, $"{stream} line read as {parsed.Kind} ({parsed.Event}): {line}");
        }
        foreach (var (stream, line) in lines)
        {
            Assert.True(LogRecordStart().IsMatch(line) || line.StartsWith("listening nbd://", StringComparison.Ordinal),
                $"{stream} line is not the start of a log record (a record spans lines?): {line}");
        }
        Output.WriteLine($"{lines.Count} output lines checked; e.g. {lines.First(l => l.Item2.Contains("storageengine-failure", StringComparison.Ordinal)).Item2}");
    }

    private static async Task ReadUntilFinalReplyAsync(RawNbdSession session)
    {
        while (true)
        {
            var (type, _) = await session.ReadOptionReplyAsync();
            if (type == 1 || (type & 0x80000000) != 0) return; // ACK or an error ends the option
        }
    }

    private static byte[] MetaContextRequest(string export, string query)
    {
        var name = Encoding.UTF8.GetBytes(export);
        var q = Encoding.UTF8.GetBytes(query);
        var data = new byte[4 + name.Length + 4 + 4 + q.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)name.Length);
        name.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4 + name.Length), 1);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(8 + name.Length), (uint)q.Length);
        q.CopyTo(data, 12 + name.Length);
        return data;
    }
}
