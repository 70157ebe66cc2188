using System.Text.Json.Serialization;

namespace ZeroDisk.Contracts;

/// <summary>Value of <c>&lt;clusterID&gt;:cluster:status</c>: no vdisk creation or deletion while repairing.</summary>
[JsonConverter(typeof(WireEnumConverter<ClusterStatus>))]
public enum ClusterStatus
{
    [WireName("healthy")] Healthy,
    [WireName("repairing")] Repairing,
}
