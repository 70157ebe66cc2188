namespace ZeroDisk.Contracts.Admin;

/// <summary>Where ClusterState's admin API listens unless told otherwise (loopback only).</summary>
public static class AdminEndpoint
{
    public const string DefaultUrl = "http://127.0.0.1:5080";
}
