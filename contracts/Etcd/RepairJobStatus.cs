namespace ZeroDisk.Contracts;

/// <summary>
/// Value of <c>zerodisk/repairs/&lt;vdiskID&gt;</c> (<see cref="EtcdKeys.RepairJob"/>), held under the repair
/// job's owner lease: who repairs the vdisk, for which incident, and the job's heartbeat. It vanishes with the lease,
/// so a job whose agent died is visible as gone within the lease TTL.
/// </summary>
public sealed record RepairJobStatus(
    string Node, string VdiskId, string Address, RepairKind Kind, string Incident, long Epoch,
    string State, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt);
