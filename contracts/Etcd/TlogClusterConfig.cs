namespace ZeroDisk.Contracts;

/// <summary>Value of <c>&lt;clusterID&gt;:cluster:conf:tlog</c>: the tlog servers of a cluster, "host:port".</summary>
public sealed record TlogClusterConfig(IReadOnlyList<string> Servers);
