namespace ZeroDisk.Contracts;

/// <summary>An NBD server saw a storage engine fail (stderr <c>storageengine-failure</c>), relayed by a log collector.</summary>
public record StorageEngineFailureReported
{
    public required string Address { get; init; }
    public required EventSource Source { get; init; }
    /// <summary>For the 0-Disk form, which side reported it; null for the seed's form.</summary>
    public string? VdiskId { get; init; }
}
