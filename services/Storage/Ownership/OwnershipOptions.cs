using System.ComponentModel.DataAnnotations;

namespace ZeroDisk.Storage.Ownership;

/// <summary>
/// How <c>nbdhost serve</c> holds its vdisks' owner keys (one writer per vdisk), from the configuration section
/// <c>Ownership</c> (e.g. <c>Ownership__LeaseTtl=00:00:05</c>). A vdisk is served only up to a local deadline,
/// <see cref="SafetyMarginFor"/> before etcd could expire the lease and let another process own it.
/// </summary>
public sealed record OwnershipOptions
{
    public const string Section = "Ownership";

    /// <summary>The owner key's etcd lease TTL: how long a vdisk stays unowned after its server froze or died.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "1.00:00:00")]
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long before the lease could expire the vdisk stops being served here; default: the storage command timeout
    /// plus 1 s. It must exceed the command timeout: a write sent just before the deadline has then landed or failed
    /// before another owner can exist, so the takeover never races it on one side of a shard.
    /// </summary>
    public TimeSpan? SafetyMargin { get; init; }

    public TimeSpan SafetyMarginFor(StorageOptions storage) => SafetyMargin ?? storage.CommandTimeout + TimeSpan.FromSeconds(1);

    /// <summary>What is wrong when the margin leaves less than 1 s of held lease, or does not cover the command timeout.</summary>
    public IEnumerable<string> Problems(StorageOptions storage)
    {
        var margin = SafetyMarginFor(storage);
        if (margin <= storage.CommandTimeout)
            yield return $"Ownership:SafetyMargin ({margin}) must exceed Storage:CommandTimeout ({storage.CommandTimeout})";
        if (LeaseTtl - margin < TimeSpan.FromSeconds(1))
            yield return $"Ownership:LeaseTtl ({LeaseTtl}) must exceed Ownership:SafetyMargin ({margin}) by at least 1 s";
    }
}
