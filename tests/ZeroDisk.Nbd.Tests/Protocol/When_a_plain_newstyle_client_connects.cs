using System.Buffers.Binary;
using System.Text;
using static ZeroDisk.Nbd.Tests.Support.ClientMessages;

namespace ZeroDisk.Nbd.Tests.Protocol;

/// <summary>
/// A client that answers the handshake flags without NBD_FLAG_C_FIXED_NEWSTYLE speaks plain newstyle (proto.md: "In
/// non-fixed newstyle only one option can be set (NBD_OPT_EXPORT_NAME)"): it is served like nbdkit and qemu-nbd serve
/// it, and an option it could not read a reply to ends the connection instead.
/// </summary>
public sealed class When_a_plain_newstyle_client_connects : IAsyncLifetime
{
    private const long ExportSize = 4L << 20;
    private InMemoryNbdServer _server = null!;

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(c => c.Add("vd", ExportSize));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(0u, 134)] // flags 0: the export reply carries its 124 zero bytes
    [InlineData(2u, 10)]  // NBD_FLAG_C_NO_ZEROES alone: without them
    public async Task It_negotiates_with_export_name_and_reads_and_writes(uint clientFlags, int replyLength)
    {
        await using var client = await RawNbdClient.ConnectRawAsync(_server.Port);
        await client.SendAsync(ClientFlags(clientFlags));
        await client.SendAsync(Option(OptExportName, Encoding.UTF8.GetBytes("vd")));
        var reply = await client.ReadExactAsync(replyLength);
        Assert.Equal(ExportSize, BinaryPrimitives.ReadInt64BigEndian(reply));
        var transmissionFlags = BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(8));
        Assert.Equal(1, transmissionFlags & 1); // NBD_FLAG_HAS_FLAGS
        Assert.Equal(0, transmissionFlags & (1 << 7)); // no structured replies were negotiated: no DF
        Assert.All(reply.Skip(10), b => Assert.Equal(0, b));

        var payload = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7 + 1)).ToArray();
        await client.SendRequestAsync(CmdWrite, 11, 8192, 4096, payload: payload);
        Assert.Equal((0u, 11ul), Head(await client.ReadReplyAsync()));
        await client.SendRequestAsync(CmdRead, 12, 8192, 4096);
        var read = await client.ReadReplyAsync(_ => 4096);
        Assert.Equal((0u, 12ul), Head(read));
        Assert.Equal(payload, read.Data);
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task Any_other_option_closes_the_connection_without_an_option_reply()
    {
        await using var client = await RawNbdClient.ConnectRawAsync(_server.Port);
        await client.SendAsync(ClientFlags(0));
        await client.SendAsync(Option(OptList, []));
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(30)), "the server kept a plain-newstyle client that sent NBD_OPT_LIST");
    }

    [Fact]
    public async Task An_unknown_export_name_closes_the_connection()
    {
        await using var client = await RawNbdClient.ConnectRawAsync(_server.Port);
        await client.SendAsync(ClientFlags(0));
        await client.SendAsync(Option(OptExportName, Encoding.UTF8.GetBytes("nope")));
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Nbdsh_with_handshake_flags_0_writes_and_reads()
    {
        // libnbd with no handshake flags falls back to plain newstyle: NBD_OPT_EXPORT_NAME, no option haggling.
        var script = $"""
            h.set_handshake_flags(0)
            h.connect_uri("{_server.Uri("vd")}")
            assert h.get_protocol() == "newstyle", h.get_protocol()
            h.pwrite(b"plain" * 1000, 65536)
            assert h.pread(5000, 65536) == b"plain" * 1000
            print("size", h.get_size())
            h.shutdown()
            """;
        var environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin:" + Environment.GetEnvironmentVariable("PATH") };
        var result = await ExternalProcess.RunAsync("nbdsh", ["-c", script], TimeSpan.FromSeconds(60), environment);
        Assert.Contains($"size {ExportSize}", result.EnsureSuccess("nbdsh").StdOut);
        _server.AssertNoErrors();
    }

    private static (uint, ulong) Head((uint Error, ulong Handle, byte[] Data) reply) => (reply.Error, reply.Handle);
}
