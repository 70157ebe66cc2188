using System.Text.Json.Serialization;

namespace ZeroDisk.Contracts;

/// <summary>Value of <c>&lt;vdiskID&gt;:vdisk:owner</c>, held under an etcd lease: the one writer of a vdisk.</summary>
public sealed record VdiskOwner(string Server, VdiskOwnerKind Kind, long Epoch);

[JsonConverter(typeof(WireEnumConverter<VdiskOwnerKind>))]
public enum VdiskOwnerKind
{
    [WireName("vm")] Vm,
    [WireName("repair")] Repair,
}
