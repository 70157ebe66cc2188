using System.Buffers.Binary;
using static ZeroDisk.Nbd.Tests.Support.ClientMessages;

namespace ZeroDisk.Nbd.Tests.Protocol;

/// <summary>Bad requests get the protocol's error or a clean close of that connection only; data stays intact.</summary>
public sealed class When_clients_misbehave : IAsyncLifetime
{
    private const uint EPERM = 1, EINVAL = 22, ENOSPC = 28, ENOTSUP = 95;
    private InMemoryNbdServer _server = null!;

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(c =>
        {
            c.Add("vd", 4L << 20);
            c.Add("ro", 1L << 20, readOnly: true);
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Garbage_after_the_handshake_closes_only_that_connection()
    {
        await using var bystander = await RawNbdClient.ConnectAsync(_server.Port, "vd");
        await using var vandal = await RawNbdClient.ConnectAsync(_server.Port, "vd");
        await vandal.SendAsync(Enumerable.Range(0, 64).Select(i => (byte)(i * 37)).ToArray());
        Assert.True(await vandal.ClosedByServerAsync(TimeSpan.FromSeconds(30)));

        await bystander.SendRequestAsync(CmdWrite, 5, 0, 3, payload: [9, 9, 9]);
        Assert.Equal(0u, (await bystander.ReadReplyAsync()).Error);
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task Garbage_instead_of_a_handshake_is_disconnected()
    {
        await using var client = await RawNbdClient.ConnectRawAsync(_server.Port);
        await client.SendAsync([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(30)));
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task Unknown_options_get_err_unsup_and_haggling_goes_on()
    {
        await using var client = await RawNbdClient.ConnectRawAsync(_server.Port);
        await client.SendAsync(ClientFlags());
        await client.SendAsync(Option(0x4242, [1, 2, 3]));
        var reply = await client.ReadExactAsync(20);
        Assert.Equal(0x80000001u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(12))); // NBD_REP_ERR_UNSUP
        await client.SendAsync(Option(OptList, []));
        var server = await client.ReadExactAsync(20);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(server.AsSpan(12))); // NBD_REP_SERVER
    }

    [Fact]
    public async Task Bad_requests_get_errors_and_the_connection_stays_usable()
    {
        await using var client = await RawNbdClient.ConnectAsync(_server.Port, "vd");
        var size = (ulong)client.ExportSize;
        await client.SendRequestAsync(CmdRead, 1, size - 512, 4096);                                  // past the end
        await client.SendRequestAsync(CmdWrite, 2, size - 512, 1024, payload: new byte[1024]);        // past the end
        await client.SendRequestAsync(CmdRead, 3, 0, (32u << 20) + 1);                                // over the maximum
        await client.SendRequestAsync(0x77, 4, 0, 512);                                               // unknown command
        await client.SendRequestAsync(CmdWriteZeroes, 5, 0, 4096, FlagFastZero);                      // cannot promise fast
        await client.SendRequestAsync(CmdRead, 6, 0, 512, 0x8000);                                    // unknown flag
        await client.SendRequestAsync(CmdBlockStatus, 7, 0, 512);                                     // not negotiated
        var errors = new Dictionary<ulong, uint>();
        for (var i = 0; i < 7; i++)
        {
            var reply = await client.ReadReplyAsync();
            errors[reply.Handle] = reply.Error;
        }
        Assert.Equal(new Dictionary<ulong, uint> { [1] = EINVAL, [2] = ENOSPC, [3] = EINVAL, [4] = EINVAL, [5] = ENOTSUP, [6] = EINVAL, [7] = EINVAL }, errors);

        var block = Enumerable.Range(0, 1 << 20).Select(i => (byte)(i % 251)).ToArray();
        await client.SendRequestAsync(CmdWrite, 8, 1 << 20, (uint)block.Length, payload: block);
        Assert.Equal(0u, (await client.ReadReplyAsync()).Error);
        await client.SendRequestAsync(CmdRead, 9, 1 << 20, (uint)block.Length);                       // a large simple reply
        Assert.Equal(block, (await client.ReadReplyAsync(_ => block.Length)).Data);

        var tail = new byte[512];
        await _server.Catalog["vd"].ReadAsync((long)size - 512, tail, CancellationToken.None);
        Assert.All(tail, b => Assert.Equal(0, b));
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task Writes_to_a_read_only_export_get_eperm()
    {
        await using var client = await RawNbdClient.ConnectAsync(_server.Port, "ro");
        await client.SendRequestAsync(CmdWrite, 1, 0, 4, payload: [1, 2, 3, 4]);
        await client.SendRequestAsync(CmdTrim, 2, 0, 4096);
        await client.SendRequestAsync(CmdWriteZeroes, 3, 0, 4096);
        for (var i = 0; i < 3; i++) Assert.Equal(EPERM, (await client.ReadReplyAsync()).Error);
        Assert.Equal(0, _server.Catalog["ro"].AllocatedBytes);
    }

    [Fact]
    public async Task An_oversize_write_is_refused_and_the_connection_closed()
    {
        await using var client = await RawNbdClient.ConnectAsync(_server.Port, "vd");
        await client.SendRequestAsync(CmdWrite, 1, 0, 64u << 20);
        await client.SendAsync(new byte[4096]); // the start of a payload the server will not take
        var reply = await client.ReadReplyAsync();
        Assert.Equal((EINVAL, 1ul), (reply.Error, reply.Handle));
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(30)));
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task Disconnect_answers_requests_in_flight_first()
    {
        await using var client = await RawNbdClient.ConnectAsync(_server.Port, "vd");
        await client.SendRequestAsync(CmdWrite, 1, 2 << 20, 4, payload: [5, 6, 7, 8]);
        await client.SendRequestAsync(CmdFlush, 2, 0, 0);
        await client.SendRequestAsync(CmdDisc, 3, 0, 0);
        Assert.Equal(1ul, (await client.ReadReplyAsync()).Handle);
        Assert.Equal(2ul, (await client.ReadReplyAsync()).Handle);
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(30)));
        var data = new byte[4];
        await _server.Catalog["vd"].ReadAsync(2 << 20, data, CancellationToken.None);
        Assert.Equal(new byte[] { 5, 6, 7, 8 }, data);
    }
}
