namespace ZeroDisk.Contracts;

/// <summary>
/// The settings every storage engine must run with (DESIGN §3 invariant 1, tightened by issue 15 item 7), checked
/// with CONFIG GET by the repair probe and by every NBD server when it connects. <c>appendfsync always</c>: redis
/// fsyncs the AOF before it sends a write's reply (one fsync per event-loop pass, shared by all pipelined writes), so
/// a write both sides acknowledged survives a power loss of both hosts, and NBD FLUSH/FUA need wait for nothing else.
/// </summary>
public static class EngineDurability
{
    public static readonly IReadOnlyList<(string Name, string Expected)> Settings =
        [("appendonly", "yes"), ("appendfsync", "always"), ("maxmemory-policy", "noeviction")];
}
