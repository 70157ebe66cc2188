using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.Infrastructure.Tests;

/// <summary>
/// Incidents, the scheduler and the status page find cluster and vdisk configs by scanning the key space for their
/// suffix. ZeroDisk's own records (saga records, a day of processed-message markers) live under <c>zerodisk/</c>
/// and grow with every failure report: the scan reads around them, and still finds configs on both sides of them.
/// </summary>
public class When_configs_are_scanned_by_suffix
{
    [Fact]
    public async Task The_whole_key_space_is_read_except_zerodisks_own_records()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        var id = TestNames.Unique("scan");
        var before = EtcdKeys.StorageClusterConfig($"a-{id}");
        var after = EtcdKeys.StorageClusterConfig($"zz-{id}");
        var ownRecord = $"zerodisk/processed/{id}{EtcdKeys.StorageClusterConfigSuffix}";
        foreach (var key in new[] { before, after, ownRecord }) await etcd.PutAsync(key, "{}");
        try
        {
            var found = (await etcd.ScanSuffixAsync("", EtcdKeys.StorageClusterConfigSuffix, CancellationToken.None))
                .Select(kv => kv.Key.ToStringUtf8()).Where(k => k.Contains(id, StringComparison.Ordinal)).ToList();

            Assert.Equal([before, after], found);
        }
        finally
        {
            foreach (var key in new[] { before, after, ownRecord }) await etcd.DeleteAsync(key);
        }
    }

    [Theory]
    [InlineData("", 2)]
    [InlineData("zero", 2)] // a scope the own records fall inside: cut around them
    [InlineData("csbench-1", 1)] // a scope beside them: its own range only
    [InlineData("zerodisk/", 1)]
    public void A_scope_is_read_in_as_many_ranges_as_it_takes_to_leave_out_the_own_records(string scope, int ranges)
    {
        var scanned = VdiskDirectory.RangesToScan(scope);

        Assert.Equal(ranges, scanned.Count);
        foreach (var (start, end) in scanned)
            Assert.False(Covers(start.ToStringUtf8(), end.ToStringUtf8(), "zerodisk/processed/x") && scope != "zerodisk/");
    }

    private static bool Covers(string start, string end, string key) =>
        string.CompareOrdinal(key, start) >= 0 && (end == "\0" || string.CompareOrdinal(key, end) < 0);
}
