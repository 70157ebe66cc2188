using ZeroDisk.ClusterState.Topology;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Persistence;

/// <summary>
/// After its first full pass the topology scan reads only the keys put since the last pass, and reads everything
/// again when a key was deleted. After every kind of change — a put, a new key, a delete, a delete hidden by a new
/// key, a key deleted and created again — what it returns is exactly what a full scan returns at that moment.
/// </summary>
public sealed class When_the_topology_is_read_by_what_changed
{
    private static readonly string[] Suffixes = [EtcdKeys.StorageClusterConfigSuffix, EtcdKeys.ClusterStatusSuffix];

    [Fact]
    public async Task Every_pass_equals_a_full_scan_and_a_deletion_forces_one()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        var scope = TestNames.Unique("it-incremental");
        var scan = new IncrementalSuffixScan(etcd, scope, Suffixes);
        try
        {
            await etcd.PutAsync(EtcdKeys.StorageClusterConfig($"{scope}-a"), "a1");
            await etcd.PutAsync(EtcdKeys.ClusterStatus($"{scope}-a"), "healthy");
            await etcd.PutAsync(EtcdKeys.StorageClusterConfig($"{scope}-b"), "b1");
            await etcd.PutAsync($"{scope}-other", "not topology");
            await SameAsFullScanAsync(fullScans: 1);

            await etcd.PutAsync(EtcdKeys.StorageClusterConfig($"{scope}-a"), "a2");          // a value changes
            await SameAsFullScanAsync(fullScans: 1);
            await etcd.PutAsync(EtcdKeys.StorageClusterConfig($"{scope}-c"), "c1");          // a key appears
            await etcd.PutAsync(EtcdKeys.ClusterStatus($"{scope}-a"), "repairing");
            await SameAsFullScanAsync(fullScans: 1);
            await SameAsFullScanAsync(fullScans: 1);                                          // nothing changed

            await etcd.DeleteAsync(EtcdKeys.StorageClusterConfig($"{scope}-b"));             // a key goes
            await SameAsFullScanAsync(fullScans: 2);

            await etcd.DeleteAsync($"{scope}-other");                                         // a deletion the count alone
            await etcd.PutAsync($"{scope}-another", "not topology");                          // would not show
            await SameAsFullScanAsync(fullScans: 3);

            await etcd.DeleteAsync(EtcdKeys.StorageClusterConfig($"{scope}-c"));             // deleted and created again
            await etcd.PutAsync(EtcdKeys.StorageClusterConfig($"{scope}-c"), "c2");
            await SameAsFullScanAsync(fullScans: 4);
            await etcd.PutAsync(EtcdKeys.StorageClusterConfig($"{scope}-a"), "a3");
            await SameAsFullScanAsync(fullScans: 4);
        }
        finally
        {
            await etcd.DeleteRangeAsync(scope);
        }

        async Task SameAsFullScanAsync(int fullScans)
        {
            var read = await scan.ReadAsync(CancellationToken.None);
            var full = await etcd.ScanSuffixesAsync(scope, Suffixes, CancellationToken.None); // nothing writes meanwhile
            Assert.Equal(fullScans, scan.FullScans);
            for (var i = 0; i < Suffixes.Length; i++)
                Assert.Equal(Shape(full[i]), Shape(read[i]));
        }

        static List<string> Shape(IReadOnlyList<Mvccpb.KeyValue> kvs) =>
            [.. kvs.Select(kv => $"{kv.Key.ToStringUtf8()}={kv.Value.ToStringUtf8()}@{kv.ModRevision}")];
    }
}
