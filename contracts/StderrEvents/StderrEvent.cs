namespace ZeroDisk.Contracts;

/// <summary>
/// An event line a ZeroDisk process writes to its event stream (its stderr log file, the only place events are taken from): the
/// seed's <c>{"type": …, "data": …}</c> lines. The seed's fields are kept exactly; added fields are optional.
/// </summary>
public abstract record StderrEvent
{
    public const string StorageEngineFailureType = "storageengine-failure";
    public const string RepairTmpOutageCompleteType = "repair-tmp-outage-complete";
    public const string RepairFinalOutageCompleteType = "repair-final-outage-complete";
    public const string ProcessExitedType = "process-exited";

    /// <summary>
    /// When the event happened, as the writing process saw it (top-level <c>"time"</c>, UTC, after <c>"data"</c>);
    /// null in a line without one (the seed's form). ClusterState judges staleness by it, not by when a collector
    /// read the line (a report observed before the engine entered its current state is stale).
    /// </summary>
    public DateTimeOffset? Time { get; init; }
}

/// <summary><c>{"type": "storageengine-failure", "data": "10.100.0.1:22005"}</c></summary>
public sealed record StorageEngineFailureLine(string Address) : StderrEvent;

/// <summary>
/// <c>{"type": "repair-tmp-outage-complete", "data": {"address": "…", "vdiskid": "23"}}</c> and its final twin;
/// <c>"incident"</c> in <c>data</c> names the engine's incident the repair belonged to.
/// </summary>
public sealed record RepairCompleteLine(RepairKind Kind, string Address, string VdiskId, string? Incident = null) : StderrEvent;

/// <summary>
/// <c>{"type": "process-exited", "data": {"role": "nbdserver", "id": "vm1", "exitcode": 139}}</c>; the agent adds
/// <c>"pid"</c> and <c>"started"</c> (the kernel start time of that pid) to <c>data</c>, which name the one exit, so a
/// second report of it is recognised (the collector delivers at least once).
/// </summary>
public sealed record ProcessExitedLine(ProcessRole Role, string Id, int ExitCode, int? Pid = null, long? StartTime = null) : StderrEvent;

/// <summary>
/// The original 0-Disk status form <c>20::{"status":…,"subject":"ardb","data":{"address":…,"db":…,"type":"primary|slave","vdiskID":…}}</c>,
/// which reports a storage engine problem seen by one side of a vdisk.
/// </summary>
public sealed record LegacyStorageStatusLine(int Status, string Subject, string Address, int Db, string Side, string? VdiskId) : StderrEvent;
