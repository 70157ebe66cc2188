using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Restarts;

/// <summary>A restart recorded as waiting in etcd, and the earliest time a scheduler other than its owner may send it.</summary>
public sealed record DeferredRestart(string Key, ProcessExited Exited, DateTimeOffset TakeoverAt);
