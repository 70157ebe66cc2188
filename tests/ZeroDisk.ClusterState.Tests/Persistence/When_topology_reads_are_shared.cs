using ZeroDisk.ClusterState.Topology;

namespace ZeroDisk.ClusterState.Tests.Persistence;

/// <summary>
/// Reports that ask for the topology together share one read, but never one that began before they asked: a change
/// made before a caller asked is in what it gets (the freshness a read of its own would give).
/// </summary>
public sealed class When_topology_reads_are_shared
{
    /// <summary>A read that returns the "etcd revision" at its start and ends when the test says so.</summary>
    private sealed class GatedSource
    {
        private readonly List<TaskCompletionSource> _gates = [];
        public long Revision;

        public async Task<long> ReadAsync(CancellationToken _)
        {
            var seen = Interlocked.Read(ref Revision);
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gates) _gates.Add(gate);
            await gate.Task;
            return seen;
        }

        public async Task ReleaseAsync(int read)
        {
            await Eventually.UntilAsync(() => { lock (_gates) return Task.FromResult(_gates.Count > read); }, $"read {read} started", TimeSpan.FromSeconds(10));
            lock (_gates) _gates[read].SetResult();
        }
    }

    [Fact]
    public async Task A_caller_that_asks_while_a_read_is_out_gets_the_next_read()
    {
        var source = new GatedSource();
        var shared = new SharedFreshRead<long>(source.ReadAsync);

        var first = shared.ReadAsync(CancellationToken.None);          // starts read 0 at revision 0
        Interlocked.Exchange(ref source.Revision, 1);                   // a change after read 0 began
        var later = Enumerable.Range(0, 50).Select(_ => shared.ReadAsync(CancellationToken.None)).ToList();
        await source.ReleaseAsync(0);
        Assert.Equal(0, await first);
        await source.ReleaseAsync(1);                                   // one read for the 50 that waited
        Assert.All(await Task.WhenAll(later), seen => Assert.Equal(1, seen));
        Assert.Equal(2, shared.Reads);
    }

    [Fact]
    public async Task A_lone_caller_reads_at_once_and_a_failure_reaches_every_waiter()
    {
        var calls = 0;
        var shared = new SharedFreshRead<int>(async _ =>
        {
            await Task.Yield();
            return ++calls == 2 ? throw new InvalidOperationException("etcd said no") : calls;
        });
        Assert.Equal(1, await shared.ReadAsync(CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => shared.ReadAsync(CancellationToken.None));
        Assert.Equal(3, await shared.ReadAsync(CancellationToken.None)); // a failed read is not remembered
    }

    [Fact]
    public async Task A_cancelled_caller_stops_waiting_without_cancelling_the_read()
    {
        var source = new GatedSource();
        var shared = new SharedFreshRead<long>(source.ReadAsync);
        var first = shared.ReadAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = shared.ReadAsync(cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        await source.ReleaseAsync(0);
        Assert.Equal(0, await first);
    }
}
