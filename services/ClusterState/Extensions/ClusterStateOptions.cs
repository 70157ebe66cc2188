using System.ComponentModel.DataAnnotations;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.ClusterState.Extensions;

/// <summary>Settings of the ClusterState service (configuration section "ClusterState").</summary>
public sealed class ClusterStateOptions
{
    public const string Section = "ClusterState";

    /// <summary>Prefix of every queue name, so several deployments (or tests) on one broker keep their own queues.</summary>
    public string EndpointPrefix { get; set; } = "";

    /// <summary>
    /// Only etcd keys that begin with this are scanned for clusters and vdisks. Empty in production; tests sharing
    /// one etcd give each deployment its own scope so an instance never manages another test's clusters.
    /// </summary>
    public string KeyScope { get; set; } = "";

    [PositiveDuration]
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a processed-MessageId record is kept (an etcd lease); redeliveries come within minutes.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan ProcessedMessageTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Partitions of the per-saga partitioner: one saga's events run one at a time within a process. Sagas sharing a
    /// partition wait for each other too, so there are many more partitions than messages running at once: an
    /// engine's reports then wait for its own transition only, not for another engine's.
    /// </summary>
    [Range(1, 4096)]
    public int PartitionCount { get; set; } = 1024;

    /// <summary>
    /// Messages each saga endpoint runs at once (MassTransit takes a fifth more from the broker ahead). A burst of
    /// failure reports waits mostly on etcd round trips, so many at once share each round trip and topology read
    /// instead of running in waves (measured: RESULTS, session 19 helper).
    /// </summary>
    [Range(1, 4096)]
    public int ConcurrentMessageLimit { get; set; } = 256;

    /// <summary>
    /// Wait for the scheduler's clean RepairVerified (its scan finds no dirty set or unmoved block left) before an
    /// engine goes online / rip. On by default; off, the last affected vdisk's completion ends the repair.
    /// </summary>
    public bool RequireRepairVerification { get; set; } = true;

    /// <summary>
    /// The bearer token every mutating admin call must carry (Admin/AdminAuthentication). Prefer
    /// <see cref="AdminTokenFile"/> (a secret mounted as a file) over putting the token itself in the environment.
    /// </summary>
    public string? AdminToken { get; set; }

    /// <summary>A file holding the admin token (surrounding whitespace ignored), read on each mutating call.</summary>
    public string? AdminTokenFile { get; set; }

    /// <summary>These settings with another key scope (the start-up rehearsal's private one).</summary>
    public ClusterStateOptions WithKeyScope(string scope)
    {
        var copy = (ClusterStateOptions)MemberwiseClone();
        copy.KeyScope = scope;
        return copy;
    }

    /// <summary>Transitions kept in each saga's history.</summary>
    [Range(1, 10000)]
    public int HistoryLimit { get; set; } = 50;
}
