using Microsoft.Extensions.Logging;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Configuration;

/// <summary>
/// One etcd watch per key this server depends on (the set changes as vdisks come and go); any event on any of them
/// calls <c>onChange</c>. Each watch starts at the revision after the read that found the key, so no change slips
/// between reading a key and watching it.
/// </summary>
internal sealed class KeyWatches(string endpoints, Action onChange, ILogger log) : IAsyncDisposable
{
    private readonly Dictionary<string, (CancellationTokenSource Stop, Task Run)> _watches = new(StringComparer.Ordinal);

    public void Update(IReadOnlySet<string> keys, long startRevision)
    {
        foreach (var (key, watch) in _watches.Where(w => !keys.Contains(w.Key)).ToList())
        {
            watch.Stop.Cancel();
            _watches.Remove(key);
        }
        foreach (var key in keys.Where(k => !_watches.ContainsKey(k)))
        {
            var stop = new CancellationTokenSource();
            var run = EtcdWatch.RunAsync(endpoints, key, prefix: false, startRevision,
                (_, _) =>
                {
                    onChange();
                    return Task.CompletedTask;
                },
                stop.Token,
                onError: ex => log.LogWarning("etcd watch on '{Key}' interrupted ({Error}); resuming", key, ex.Message));
            _watches[key] = (stop, run);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var watch in _watches.Values) watch.Stop.Cancel();
        await Task.WhenAll(_watches.Values.Select(w => w.Run));
        _watches.Clear();
    }
}
