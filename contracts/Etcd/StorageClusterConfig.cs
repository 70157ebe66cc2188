namespace ZeroDisk.Contracts;

/// <summary>Value of <c>&lt;clusterID&gt;:cluster:conf:storage</c>.</summary>
public sealed record StorageClusterConfig(IReadOnlyList<StorageServerConfig> Servers);

/// <summary>One storage engine of a cluster; its index in <see cref="StorageClusterConfig.Servers"/> is its shard.</summary>
public sealed record StorageServerConfig(string Address, int Db = 0, EngineState State = EngineState.Online);
