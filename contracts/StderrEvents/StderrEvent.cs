namespace ZeroDisk.Contracts;

/// <summary>An event line a ZeroDisk process writes on stderr (the seed's <c>{"type": …, "data": …}</c> lines).</summary>
public abstract record StderrEvent
{
    public const string StorageEngineFailureType = "storageengine-failure";
    public const string RepairTmpOutageCompleteType = "repair-tmp-outage-complete";
    public const string RepairFinalOutageCompleteType = "repair-final-outage-complete";
    public const string ProcessExitedType = "process-exited";
}

/// <summary><c>{"type": "storageengine-failure", "data": "10.100.0.1:22005"}</c></summary>
public sealed record StorageEngineFailureLine(string Address) : StderrEvent;

/// <summary><c>{"type": "repair-tmp-outage-complete", "data": {"address": "…", "vdiskid": "23"}}</c> and its final twin.</summary>
public sealed record RepairCompleteLine(RepairKind Kind, string Address, string VdiskId, string? Incident = null) : StderrEvent;

/// <summary><c>{"type": "process-exited", "data": {"role": "nbdserver", "id": "vm1", "exitcode": 139}}</c></summary>
public sealed record ProcessExitedLine(ProcessRole Role, string Id, int ExitCode) : StderrEvent;

/// <summary>
/// The original 0-Disk status form <c>20::{"status":…,"subject":"ardb","data":{"address":…,"db":…,"type":"primary|slave","vdiskID":…}}</c>,
/// which reports a storage engine problem seen by one side of a vdisk.
/// </summary>
public sealed record LegacyStorageStatusLine(int Status, string Subject, string Address, int Db, string Side, string? VdiskId) : StderrEvent;
