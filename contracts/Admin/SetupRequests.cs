namespace ZeroDisk.Contracts.Admin;

/// <summary>Body of POST /clusters: a storage cluster from its engines, in shard order (engine k serves shard k).</summary>
public sealed record CreateStorageClusterRequest(string Id, IReadOnlyList<string> Engines, int Db = 0);

/// <summary>Body of POST /clusters/{id}/engines: one more engine, the cluster's next shard.</summary>
public sealed record AddEngineRequest(string Address, int Db = 0);

/// <summary>Body of POST /clusters/{id}/engines/{address}/replace: the engine that takes the old one's shard.</summary>
public sealed record ReplaceEngineRequest(string Address, int Db = 0);

/// <summary>Body of POST /tlogclusters: the tlog servers ("host:port") a vdisk's writes are journalled to.</summary>
public sealed record CreateTlogClusterRequest(string Id, IReadOnlyList<string> Servers);

/// <summary>Body of POST /nbdservers/{id}/start and /tlogservers/{address}/start: the node whose agent runs it.</summary>
public sealed record StartServerRequest(string Node);
