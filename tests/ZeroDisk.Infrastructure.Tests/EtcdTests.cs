using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.Infrastructure.Tests;

public class EtcdTests
{
    [Fact]
    public async Task Put_then_a_transaction_that_compares_the_version()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        var key = TestNames.Unique("it/txn");
        await etcd.PutAsync(key, "v1");
        var read = await etcd.GetAsync(key);
        var version = read.Kvs[0].Version;

        TxnRequest CompareAndSet(long expectedVersion, string value) => new()
        {
            Compare = { new Compare { Key = ByteString.CopyFromUtf8(key), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = expectedVersion } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value) } } },
        };

        Assert.True((await etcd.TransactionAsync(CompareAndSet(version, "v2"))).Succeeded);
        // The same compare again is stale now: exactly one of two racing writers wins.
        Assert.False((await etcd.TransactionAsync(CompareAndSet(version, "v3"))).Succeeded);
        Assert.Equal("v2", await etcd.GetValAsync(key));
    }

    [Fact]
    public async Task A_prefix_watch_sees_puts_and_deletes_in_order()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        var prefix = TestNames.Unique("it/watch") + "/";
        var seen = new List<(Event.Types.EventType, string, string)>();
        var done = new TaskCompletionSource();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var start = (await etcd.GetAsync("zerodisk/none")).Header.Revision + 1;
        var watch = EtcdWatch.RunAsync(endpoints.EtcdEndpoints, prefix, prefix: true, start, (events, _) =>
        {
            lock (seen)
            {
                seen.AddRange(events.Select(e => (e.Type, e.Kv.Key.ToStringUtf8(), e.Kv.Value.ToStringUtf8())));
                if (seen.Count >= 3) done.TrySetResult();
            }
            return Task.CompletedTask;
        }, cts.Token);

        await etcd.PutAsync(prefix + "a", "1");
        await etcd.PutAsync(prefix + "b", "2");
        await etcd.PutAsync("outside/" + prefix, "x");
        await etcd.DeleteAsync(prefix + "a");
        await done.Task.WaitAsync(cts.Token);
        await cts.CancelAsync();
        await watch;

        Assert.Equal(
            [(Event.Types.EventType.Put, prefix + "a", "1"), (Event.Types.EventType.Put, prefix + "b", "2"), (Event.Types.EventType.Delete, prefix + "a", "")],
            seen);
    }
}
