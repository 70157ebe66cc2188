using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Mvccpb;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// A watch on a key or prefix (endpoints as in ETCD_ENDPOINTS) over etcd's raw gRPC stream that survives etcd restarts
/// and the loss of a member: it resumes from the revision after the last one it delivered, so no change is missed,
/// and asks for progress notifications so a silent stream is noticed (one writer per vdisk: a server re-reads
/// etcd after 10 s without progress).
/// </summary>
public static class EtcdWatch
{
    /// <param name="onChanges">Called with the events of one response and its header revision, in order.</param>
    /// <param name="onProgress">Called for every response, events or progress notification alike.</param>
    public static async Task RunAsync(string endpoints, string key, bool prefix, long startRevision,
        Func<IReadOnlyList<Event>, long, Task> onChanges, CancellationToken ct, Action<long>? onProgress = null, Action<Exception>? onError = null)
    {
        var next = startRevision;
        // One channel to every member: its balancer moves to a member that answers when this one dies (EtcdChannel).
        using var channel = EtcdChannel.Create(endpoints);
        var client = new Watch.WatchClient(EtcdChannel.Authenticated(channel));
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var call = client.Watch(cancellationToken: ct);
                var create = new WatchCreateRequest { Key = ByteString.CopyFromUtf8(key), StartRevision = next, ProgressNotify = true };
                if (prefix) create.RangeEnd = ByteString.CopyFrom(PrefixEnd(key));
                await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = create }, ct);
                await foreach (var response in call.ResponseStream.ReadAllAsync(ct))
                {
                    if (response.CompactRevision > 0)
                        throw new InvalidOperationException($"etcd compacted revision {response.CompactRevision} before the watch on '{key}' read it; re-read and watch again");
                    if (response.Events.Count > 0)
                    {
                        await onChanges(response.Events, response.Header.Revision);
                        next = response.Events[^1].Kv.ModRevision + 1;
                    }
                    else if (response.Header.Revision >= next)
                    {
                        next = Math.Max(next, response.Header.Revision + 1);
                    }
                    onProgress?.Invoke(response.Header.Revision);
                }
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RpcException or IOException or InvalidOperationException)
            {
                onError?.Invoke(ex);
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>The range end that makes a watch or get cover every key starting with <paramref name="prefix"/>.</summary>
    public static byte[] PrefixEnd(string prefix)
    {
        var end = System.Text.Encoding.UTF8.GetBytes(prefix);
        for (var i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return end[..(i + 1)];
            }
        }
        return [0];
    }
}
