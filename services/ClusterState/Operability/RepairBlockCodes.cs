namespace ZeroDisk.ClusterState.Operability;

/// <summary>The reasons a repair can be blocked, as they appear in <c>/status/repairs</c> and the metric's "reason" label.</summary>
public static class RepairBlockCodes
{
    public const string TwinDown = "twin-down";
    public const string NoAgent = "no-agent";
    public const string LeaseLapsed = "lease-lapsed";
    public const string JobSilent = "job-silent";
    public const string NoCampaign = "no-campaign";
    public const string ShardUnavailable = "shard-unavailable";
    public const string ClassificationHeld = "classification-held";
}
