namespace ZeroDisk.Contracts;

/// <summary>Value of <c>&lt;vdiskID&gt;:vdisk:conf:storage:nbd</c>: the clusters a vdisk lives in.</summary>
public sealed record VdiskNbdConfig(string StorageClusterID, string SlaveStorageClusterID, string? TlogServerClusterID = null);
