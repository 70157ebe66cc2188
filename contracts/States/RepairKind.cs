using System.Text.Json.Serialization;

namespace ZeroDisk.Contracts;

/// <summary>Which repair a vdisk completed: a resync of dirty blocks (tmp) or a respread of a dead shard (final).</summary>
[JsonConverter(typeof(WireEnumConverter<RepairKind>))]
public enum RepairKind
{
    [WireName("tmp")] Tmp,
    [WireName("final")] Final,
}
