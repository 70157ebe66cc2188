namespace ZeroDisk.Contracts;

/// <summary>The etcd key schema, following the original 0-Disk layout.</summary>
public static class EtcdKeys
{
    public static string StorageClusterConfig(string clusterId) => $"{clusterId}:cluster:conf:storage";
    public static string ClusterStatus(string clusterId) => $"{clusterId}{ClusterStatusSuffix}";
    public static string TlogClusterConfig(string clusterId) => $"{clusterId}:cluster:conf:tlog";
    public static string VdiskStaticConfig(string vdiskId) => $"{vdiskId}:vdisk:conf:static";
    public static string VdiskNbdConfig(string vdiskId) => $"{vdiskId}:vdisk:conf:storage:nbd";
    public static string NbdServerVdisks(string serverId) => $"{serverId}:nbdserver:conf:vdisks";
    public static string VdiskOwner(string vdiskId) => $"{vdiskId}{VdiskOwnerSuffix}";

    /// <summary>
    /// Where ZeroDisk's own records live (sagas, processed-message markers, agents, engine identities, repair jobs),
    /// apart from the id-keyed configs: ids hold no '/', so no config key starts with it.
    /// </summary>
    public const string OwnRecordsPrefix = "zerodisk/";
    public static string Saga(string sagaType, string id) => $"{SagaPrefix(sagaType)}{id}";
    public static string SagaPrefix(string sagaType) => $"{OwnRecordsPrefix}sagas/{sagaType}/";
    public static string ProcessedMessage(Guid messageId) => $"{OwnRecordsPrefix}processed/{messageId:N}";
    public static string Agent(string node) => $"{AgentPrefix}{node}";
    public const string AgentPrefix = OwnRecordsPrefix + "agents/";
    public static string EngineIdentity(string address) => $"{OwnRecordsPrefix}engines/{address}/identity";
    public static string RepairJob(string vdiskId) => $"{RepairJobPrefix}{vdiskId}";
    public const string RepairJobPrefix = OwnRecordsPrefix + "repairs/";

    public const string StorageClusterConfigSuffix = ":cluster:conf:storage";
    public const string ClusterStatusSuffix = ":cluster:status";
    public const string VdiskNbdConfigSuffix = ":vdisk:conf:storage:nbd";
    public const string VdiskStaticConfigSuffix = ":vdisk:conf:static";
    public const string VdiskOwnerSuffix = ":vdisk:owner";

    /// <summary>The cluster id in a <c>&lt;clusterID&gt;:cluster:conf:storage</c> key, or null for any other key.</summary>
    public static string? ClusterIdOfStorageConfig(string key) => IdOf(key, StorageClusterConfigSuffix);

    /// <summary>The cluster id in a <c>&lt;clusterID&gt;:cluster:status</c> key, or null for any other key.</summary>
    public static string? ClusterIdOfStatus(string key) => IdOf(key, ClusterStatusSuffix);

    /// <summary>The vdisk id in a <c>&lt;vdiskID&gt;:vdisk:conf:storage:nbd</c> key, or null for any other key.</summary>
    public static string? VdiskIdOfNbdConfig(string key) => IdOf(key, VdiskNbdConfigSuffix);

    /// <summary>The id in front of <paramref name="suffix"/> (the 0-Disk layout puts ids first), or null when the key has another suffix.</summary>
    public static string? IdOf(string key, string suffix) =>
        key.EndsWith(suffix, StringComparison.Ordinal) ? key[..^suffix.Length] : null;
}
