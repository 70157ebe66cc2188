using Mvccpb;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.Infrastructure.Tests;

/// <summary>The watch every service's config and state rides on keeps going, gap-free, when the member it reads from dies.</summary>
public class When_an_etcd_member_dies_under_a_watch
{
    [Fact]
    public async Task The_watch_moves_to_another_member_and_misses_no_change()
    {
        await using var cluster = await EtcdClusterProcess.StartAsync(members: 3);
        var prefix = TestNames.Unique("it/member-loss") + "/";
        var seen = new List<string>();
        var errors = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var first = EtcdExtensions.CreateClient(cluster.Endpoint(0));
        // From the revision read now, not "from whenever the watch is created": under load the five puts below can
        // land before the watch stream is set up, and a from-now watch would never see them.
        var start = (await first.GetAsync(prefix)).Header.Revision + 1;
        var watch = EtcdWatch.RunAsync(cluster.Endpoints, prefix, prefix: true, start, (events, _) =>
        {
            lock (seen) seen.AddRange(events.Where(e => e.Type == Event.Types.EventType.Put).Select(e => e.Kv.Value.ToStringUtf8()));
            return Task.CompletedTask;
        }, cts.Token, onError: _ => Interlocked.Increment(ref errors));

        // Member 0 is the first the balancer picks: the watch reads from it until it dies.
        for (var i = 0; i < 5; i++) await first.PutAsync(prefix + i, $"before-{i}");
        await Eventually.TrueAsync(() => { lock (seen) return seen.Count == 5; }, TimeSpan.FromSeconds(20), "the first five puts through the watch");

        await cluster.KillAsync(0);
        using (var survivors = EtcdExtensions.CreateClient(cluster.Endpoint(1) + "," + cluster.Endpoint(2)))
            for (var i = 0; i < 5; i++) await survivors.PutAsync(prefix + (5 + i), $"after-{i}");
        await Eventually.TrueAsync(() => { lock (seen) return seen.Count >= 10; }, TimeSpan.FromSeconds(30), "the puts made after member 0 died");
        await cts.CancelAsync();
        await watch;

        lock (seen)
            Assert.Equal([.. Enumerable.Range(0, 5).Select(i => $"before-{i}"), .. Enumerable.Range(0, 5).Select(i => $"after-{i}")], seen);
        Assert.True(errors >= 1, "the watch on member 0 should have failed once when it was killed");
    }
}
