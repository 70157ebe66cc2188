using ZeroDisk.Nbd.Memory;
using static ZeroDisk.Nbd.Tests.Support.ClientMessages;

namespace ZeroDisk.Nbd.Tests.Protocol;

/// <summary>
/// What one client may hold of a server: a connection slot only while it negotiates promptly, one of
/// <see cref="NbdServerOptions.MaxConnections"/>, and at most its byte budget of payloads and unsent replies — when it
/// stops reading, the server stops reading its requests, and other clients are served on.
/// </summary>
public sealed class When_clients_hold_connections_and_memory : IAsyncLifetime
{
    private const int MiB = 1 << 20;

    private static readonly NbdServerOptions Limits = new()
    {
        MaxConnections = 3,
        MaxBufferedBytesPerConnection = 32 * MiB,
        MaxBufferedBytes = 64 * MiB,
        HandshakeIdleTimeout = TimeSpan.FromSeconds(1),
    };

    private InMemoryNbdServer _server = null!;
    private readonly MemoryExport _store = new(64L * MiB);

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(_ => { }, new AsyncExportCatalog(_store), Limits);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_silent_handshake_is_closed_after_the_idle_timeout()
    {
        await using var silent = await RawNbdClient.ConnectRawAsync(_server.Port);
        await using var stalled = await RawNbdClient.ConnectRawAsync(_server.Port);
        await stalled.SendAsync(ClientFlags()); // then nothing: no option ever comes
        Assert.True(await silent.ClosedByServerAsync(TimeSpan.FromSeconds(20)), "a client that never sent its flags was kept");
        Assert.True(await stalled.ClosedByServerAsync(TimeSpan.FromSeconds(20)), "a client that never sent an option was kept");
        await Eventually.TrueAsync(() => _server.Server.ConnectionCount == 0, TimeSpan.FromSeconds(10), "the closed handshakes are gone");
    }

    [Fact]
    public async Task A_connection_over_the_cap_is_closed_and_a_freed_slot_serves_again()
    {
        var held = new List<RawNbdClient>();
        for (var i = 0; i < Limits.MaxConnections; i++) held.Add(await RawNbdClient.ConnectAsync(_server.Port, AsyncExportCatalog.Name));
        try
        {
            await using var refused = await RawNbdClient.ConnectRawAsync(_server.Port).ContinueWith(t => t.IsFaulted ? null : t.Result);
            if (refused is not null) Assert.True(await refused.ClosedByServerAsync(TimeSpan.FromSeconds(10)), "a connection over the cap was kept");
            // The refusal is logged after the socket is closed: the client can see the close first.
            await Eventually.TrueAsync(() => _server.Logger.Problems.Any(e => e.Contains("refused", StringComparison.Ordinal)), TimeSpan.FromSeconds(10),
                "the refused connection is logged");

            await held[0].DisposeAsync();
            held.RemoveAt(0);
            await Eventually.TrueAsync(() => _server.Server.ConnectionCount < Limits.MaxConnections, TimeSpan.FromSeconds(10), "the closed connection is gone");
            await using var next = await RawNbdClient.ConnectAsync(_server.Port, AsyncExportCatalog.Name);
            await next.SendRequestAsync(CmdRead, 1, 0, 4096);
            Assert.Equal(0u, (await next.ReadReplyAsync(_ => 4096)).Error);
        }
        finally
        {
            foreach (var client in held) await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_client_that_never_reads_holds_at_most_its_budget_and_others_are_served()
    {
        // 256 reads of 1 MiB, answered off the receive loop, replies never read: 256 MiB if the server buffered them.
        await using var hog = await RawNbdClient.ConnectAsync(_server.Port, AsyncExportCatalog.Name);
        var pattern = Enumerable.Range(0, MiB).Select(i => (byte)(i % 251)).ToArray();
        await _store.WriteAsync(0, pattern, false, default);
        const int requests = 256;
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < requests; i++) await hog.SendRequestAsync(CmdRead, (ulong)i, 0, MiB);
        });

        long peak = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            peak = Math.Max(peak, _server.Server.BufferedBytes);
            await Task.Delay(10);
        }
        Assert.True(peak > 0, "the hog's replies were never buffered (the test did not load the server)");
        // Budget plus what is charged by force: one read's reply header per request in flight.
        Assert.True(peak <= Limits.MaxBufferedBytesPerConnection + 64 * 64, $"one connection held {peak} bytes, over its {Limits.MaxBufferedBytesPerConnection} B budget");

        await using (var other = await RawNbdClient.ConnectAsync(_server.Port, AsyncExportCatalog.Name))
        {
            await other.SendRequestAsync(CmdWrite, 7, 32 * MiB, 4096, payload: new byte[4096]);
            Assert.Equal(0u, (await other.ReadReplyAsync()).Error);
        }

        for (var i = 0; i < requests; i++)
        {
            var reply = await hog.ReadReplyAsync(_ => MiB);
            Assert.Equal(0u, reply.Error);
            Assert.Equal(pattern, reply.Data);
        }
        await sending;
        await Eventually.TrueAsync(() => _server.Server.BufferedBytes == 0, TimeSpan.FromSeconds(10), "every charged byte is released once the replies are sent");
        _server.AssertNoErrors();
    }

    /// <summary>A memory export whose calls complete off the caller's thread, as a network backend's do.</summary>
    private sealed class AsyncExportCatalog(MemoryExport store) : INbdExportCatalog
    {
        public const string Name = "async";

        public IReadOnlyList<NbdExportInfo> List() => [new(Name)];

        public ValueTask<INbdExport?> OpenAsync(string name, CancellationToken ct) =>
            ValueTask.FromResult<INbdExport?>(name == Name ? new AsyncExport(store) : null);

        private sealed class AsyncExport(MemoryExport store) : INbdExport
        {
            public long Size => store.Size;
            public int BlockSize => store.BlockSize;
            public bool ReadOnly => false;
            public bool CanMultiConn => true;

            public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
            {
                await Task.Yield();
                await store.ReadAsync(offset, buffer, ct);
            }

            public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken ct)
            {
                await Task.Yield();
                await store.WriteAsync(offset, data, fua, ct);
            }

            public ValueTask FlushAsync(CancellationToken ct) => store.FlushAsync(ct);
            public ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken ct) => store.TrimAsync(offset, length, fua, ct);
            public ValueTask WriteZeroesAsync(long offset, long length, bool noHole, bool fua, CancellationToken ct) =>
                store.WriteZeroesAsync(offset, length, noHole, fua, ct);
        }
    }
}
