using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using ZeroDisk.Contracts;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// Which vdisks live in which storage clusters, shared by ClusterState (affected vdisks of an incident) and the
/// scheduler (vdisks to repair). The key schema puts the vdisk id first (<c>&lt;vdiskID&gt;:vdisk:conf:storage:nbd</c>),
/// so there is no prefix to range over: <see cref="ScanSuffixAsync"/> reads the key space in pages and filters.
/// </summary>
public static class VdiskDirectory
{
    /// <summary>Vdisks whose primary or slave cluster is <paramref name="clusterId"/>, ordered by id.</summary>
    /// <param name="scope">Only keys starting with this (empty: all); lets deployments share one etcd.</param>
    public static async Task<IReadOnlyList<string>> VdisksInClusterAsync(this EtcdClient etcd, string clusterId, string scope = "", CancellationToken ct = default) =>
        (await etcd.AllVdiskNbdConfigsAsync(scope, ct))
            .Where(kv => kv.Value.StorageClusterID == clusterId || kv.Value.SlaveStorageClusterID == clusterId)
            .Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();

    public static async Task<IReadOnlyDictionary<string, VdiskNbdConfig>> AllVdiskNbdConfigsAsync(this EtcdClient etcd, string scope = "", CancellationToken ct = default) =>
        ParseNbdConfigs(await etcd.ScanSuffixAsync(scope, EtcdKeys.VdiskNbdConfigSuffix, ct));

    /// <summary>Vdisk id → NBD config of the <c>&lt;vdiskID&gt;:vdisk:conf:storage:nbd</c> keys read (malformed ones left out).</summary>
    public static IReadOnlyDictionary<string, VdiskNbdConfig> ParseNbdConfigs(IEnumerable<KeyValue> kvs)
    {
        var result = new Dictionary<string, VdiskNbdConfig>(StringComparer.Ordinal);
        foreach (var kv in kvs)
        {
            try
            {
                result[EtcdKeys.VdiskIdOfNbdConfig(kv.Key.ToStringUtf8())!] = ZeroDiskJson.Deserialize<VdiskNbdConfig>(kv.Value.ToStringUtf8());
            }
            catch (System.Text.Json.JsonException)
            {
                // A malformed config names no cluster; its readers log it where they load it.
            }
        }
        return result;
    }

    /// <summary>
    /// Every key under <paramref name="scope"/> (the whole key space when empty) ending with <paramref name="suffix"/>,
    /// with its value. The 0-Disk layout puts the id first, so there is no common prefix to range over: the range is
    /// read in pages and filtered here.
    /// </summary>
    public static async Task<IReadOnlyList<KeyValue>> ScanSuffixAsync(this EtcdClient etcd, string scope, string suffix, CancellationToken ct) =>
        (await etcd.ScanSuffixesAsync(scope, [suffix], ct))[0];

    /// <summary>
    /// One pass over the range for several suffixes at once (one consistent snapshot): element i holds the keys
    /// ending with <paramref name="suffixes"/>[i]. ZeroDisk's own records are not read (<see cref="RangesToScan"/>).
    /// </summary>
    public static async Task<IReadOnlyList<KeyValue>[]> ScanSuffixesAsync(this EtcdClient etcd, string scope, IReadOnlyList<string> suffixes, CancellationToken ct)
    {
        const int PageSize = 1000;
        var matches = suffixes.Select(_ => new List<KeyValue>()).ToArray();
        var suffixBytes = suffixes.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();
        long revision = 0;
        foreach (var (start, end) in RangesToScan(scope))
        {
            var from = start;
            while (true)
            {
                // One revision for every page of every range, so the pages form one consistent snapshot.
                var page = await etcd.GetAsync(new RangeRequest { Key = from, RangeEnd = end, Limit = PageSize, Revision = revision }, cancellationToken: ct);
                revision = page.Header.Revision;
                foreach (var kv in page.Kvs)
                    for (var i = 0; i < suffixBytes.Length; i++)
                        if (kv.Key.Span.EndsWith(suffixBytes[i])) matches[i].Add(kv);
                if (!page.More || page.Kvs.Count == 0) break;
                from = ByteString.CopyFrom([.. page.Kvs[^1].Key.Span, 0]);
            }
        }
        return matches;
    }

    /// <summary>
    /// The key ranges holding <paramref name="scope"/>'s keys (the whole key space when empty), less ZeroDisk's own
    /// records (<see cref="EtcdKeys.OwnRecordsPrefix"/>): saga records, repair jobs and a day's processed-message
    /// markers, which grow with every failure report and would otherwise be read in full by every incident.
    /// </summary>
    public static IReadOnlyList<(ByteString Start, ByteString End)> RangesToScan(string scope)
    {
        const string OwnRecords = EtcdKeys.OwnRecordsPrefix;
        var everything = ByteString.CopyFrom([0]); // as a range end: every key from the start on
        var start = scope.Length == 0 ? everything : ByteString.CopyFromUtf8(scope);
        var end = scope.Length == 0 ? everything : ByteString.CopyFrom(EtcdWatch.PrefixEnd(scope));
        if (!OwnRecords.StartsWith(scope, StringComparison.Ordinal) || scope == OwnRecords) return [(start, end)];
        return [(start, ByteString.CopyFromUtf8(OwnRecords)), (ByteString.CopyFrom(EtcdWatch.PrefixEnd(OwnRecords)), end)];
    }
}
