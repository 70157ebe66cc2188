using Etcdserverpb;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Persistence;

/// <summary>
/// Transactions arriving together go to etcd as one; each caller still gets its own verdict and its own reads, and a
/// compare that no longer holds fails only its own transaction.
/// </summary>
public sealed class When_etcd_transactions_are_batched
{
    [Fact]
    public async Task Each_caller_gets_its_own_outcome_in_fewer_round_trips()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        var batcher = new EtcdTxnBatcher(etcd);
        var prefix = TestNames.Unique("it/batch") + "/";
        var taken = Enumerable.Range(0, 200).Where(i => i % 20 == 7).ToHashSet(); // 10 keys someone else wrote first
        foreach (var i in taken) await etcd.PutAsync($"{prefix}{i}", "theirs");

        // Create-if-absent, then read back in the same transaction, 200 at once.
        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            await Task.Yield();
            var key = $"{prefix}{i}";
            var request = new EtcdTransaction().ExpectVersion(key, 0).Put(key, $"mine-{i}").Request;
            request.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(key) } });
            return (i, Response: await batcher.TransactionAsync(request));
        }));

        Assert.True(batcher.Calls < 100, $"{batcher.Calls} etcd transactions for 200");
        foreach (var (i, response) in results)
        {
            Assert.Equal(!taken.Contains(i), response.Succeeded);
            if (!response.Succeeded) continue;
            Assert.Equal(2, response.Responses.Count); // its own put and read, nobody else's
            Assert.Equal($"mine-{i}", response.Responses[1].ResponseRange.Kvs.Single().Value.ToStringUtf8());
        }
        foreach (var i in taken) Assert.Equal("theirs", await etcd.GetValAsync($"{prefix}{i}"));
        await etcd.DeleteRangeAsync(prefix);
    }
}
