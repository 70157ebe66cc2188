namespace ZeroDisk.ClusterState.Rehearsal;

/// <summary>
/// Sent by the service's bus to a temporary queue of its own at start-up: one message through the broker, the
/// transport's receive and send code, without an exchange any other consumer binds (no consume topology).
/// </summary>
public sealed record RehearsalPing(Guid Id);
