using ZeroDisk.Nbd.Memory;
using static ZeroDisk.Nbd.Tests.Support.ClientMessages;

namespace ZeroDisk.Nbd.Tests.Protocol;

/// <summary>A request held by a slow backend blocks neither the requests behind it nor other connections.</summary>
public sealed class When_requests_are_pipelined_on_a_slow_export : IAsyncLifetime
{
    private readonly GatedExportCatalog _catalog = new(new MemoryExport(1L << 20));
    private InMemoryNbdServer _server = null!;

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(_ => { }, _catalog);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _catalog.Open();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Later_requests_are_answered_first_and_handles_are_echoed()
    {
        await using var client = await RawNbdClient.ConnectAsync(_server.Port, GatedExportCatalog.Name);
        var lengths = new Dictionary<ulong, int> { [1] = 4096, [3] = 8192 };
        await client.SendRequestAsync(CmdRead, 1, 0, 4096);                 // held at the gate
        await _catalog.WaitForHeldAsync(1);
        await client.SendRequestAsync(CmdWrite, 2, 8192, 8192, payload: Enumerable.Repeat((byte)0x42, 8192).ToArray());
        await client.SendRequestAsync(CmdRead, 3, 8192, 8192);
        await client.SendRequestAsync(CmdFlush, 4, 0, 0);

        var early = new List<ulong>();
        for (var i = 0; i < 3; i++)
        {
            var reply = await client.ReadReplyAsync(h => lengths.GetValueOrDefault(h));
            Assert.Equal(0u, reply.Error);
            early.Add(reply.Handle);
            if (reply.Handle == 3) Assert.All(reply.Data, b => Assert.Equal(0x42, b));
        }
        Assert.Equal([2ul, 3ul, 4ul], early);

        _catalog.Open();
        var late = await client.ReadReplyAsync(h => lengths.GetValueOrDefault(h));
        Assert.Equal((0u, 1ul), (late.Error, late.Handle));
        Assert.Equal(4096, late.Data.Length);
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task A_client_that_vanishes_with_io_in_flight_leaves_the_server_serving()
    {
        var leaver = await RawNbdClient.ConnectAsync(_server.Port, GatedExportCatalog.Name);
        await leaver.SendRequestAsync(CmdRead, 7, 0, 4096);
        await leaver.SendRequestAsync(CmdRead, 8, 512, 4096);
        await _catalog.WaitForHeldAsync(2);
        leaver.Vanish();

        await using var other = await RawNbdClient.ConnectAsync(_server.Port, GatedExportCatalog.Name);
        await other.SendRequestAsync(CmdWrite, 1, 65536, 4, payload: [1, 2, 3, 4]);
        Assert.Equal((0u, 1ul), ((await other.ReadReplyAsync()).Error, 1ul));

        _catalog.Open(); // the held reads finish into a closed socket
        await other.SendRequestAsync(CmdRead, 2, 65536, 4);
        var read = await other.ReadReplyAsync(_ => 4);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, read.Data);
        await WaitUntilAsync(() => _server.Server.ConnectionCount == 1);
        _server.AssertNoErrors();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++) await Task.Delay(100);
        Assert.True(condition());
    }
}
