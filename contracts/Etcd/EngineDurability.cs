namespace ZeroDisk.Contracts;

/// <summary>
/// The settings every storage engine must run with (durability of engines: NBD FLUSH must mean the data survives a power loss), checked
/// with CONFIG GET by the repair probe and by every NBD server when it connects. <c>appendfsync always</c>: redis
/// fsyncs the AOF before it sends a write's reply (one fsync per event-loop pass, shared by all pipelined writes), so
/// a write both sides acknowledged survives a power loss of both hosts, and NBD FLUSH/FUA need wait for nothing else.
/// </summary>
public static class EngineDurability
{
    public static readonly IReadOnlyList<(string Name, string Expected)> Settings =
        [("appendonly", "yes"), ("appendfsync", "always"), ("maxmemory-policy", "noeviction")];
}
