namespace ZeroDisk.NbdHost.Configuration;

/// <summary>What <c>nbdhost serve</c> was started with.</summary>
public sealed record ServeOptions(string ServerId, string EtcdEndpoints, string? Listen = null, string? UnixSocket = null)
{
    /// <summary>After this long without a watch event etcd is read again anyway (invariant 5).</summary>
    public TimeSpan RereadInterval { get; init; } = TimeSpan.FromSeconds(10);
}
