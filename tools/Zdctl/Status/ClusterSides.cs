using ZeroDisk.Contracts;

namespace ZeroDisk.Zdctl.Status;

/// <summary>A cluster is a primary or a slave only through the vdisks that use it; some clusters are both.</summary>
public static class ClusterSides
{
    public static IReadOnlyDictionary<string, string> Of(IEnumerable<VdiskNbdConfig> vdisks)
    {
        var primary = new HashSet<string>(StringComparer.Ordinal);
        var slave = new HashSet<string>(StringComparer.Ordinal);
        foreach (var vdisk in vdisks)
        {
            primary.Add(vdisk.StorageClusterID);
            slave.Add(vdisk.SlaveStorageClusterID);
        }
        return primary.Union(slave).ToDictionary(c => c, c => (primary.Contains(c), slave.Contains(c)) switch
        {
            (true, true) => "primary+slave",
            (true, false) => "primary",
            _ => "slave",
        });
    }
}
