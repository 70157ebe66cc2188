namespace ZeroDisk.Contracts;

/// <summary>
/// The identity marker of a storage engine (identity is checked, never assumed): a unique id written into the engine
/// under <see cref="RedisKey"/> when it joins a cluster, and the expected value kept in etcd under
/// <see cref="EtcdKeys.EngineIdentity"/>. An engine that answers with the marker missing or different has lost
/// its data, so its outage can never be temporary.
/// </summary>
public static class EngineIdentity
{
    public const string RedisKey = "zerodisk:engine";
}
