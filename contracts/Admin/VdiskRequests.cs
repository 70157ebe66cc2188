using ZeroDisk.Contracts;

namespace ZeroDisk.Contracts.Admin;

/// <summary>Body of POST /vdisks: the static and nbd config of a new vdisk.</summary>
public sealed record CreateVdiskRequest(
    string Id,
    string StorageClusterID,
    string SlaveStorageClusterID,
    string? TlogServerClusterID = null,
    int BlockSize = 4096,
    long Size = 10,
    bool ReadOnly = false,
    string Type = "db")
{
    public VdiskStaticConfig Static => new(BlockSize, ReadOnly, Size, Type);
    public VdiskNbdConfig Nbd => new(StorageClusterID, SlaveStorageClusterID, TlogServerClusterID);
}

/// <summary>Body of POST /engines/{address}/outage.</summary>
public sealed record DeclareOutageRequest(OutageKind Kind = OutageKind.Permanent, bool Force = false, string Operator = "operator");

/// <summary>What an admin operation did: an HTTP status and a message for the operator.</summary>
public sealed record AdminResult(int Status, string Message, object? Detail = null);
