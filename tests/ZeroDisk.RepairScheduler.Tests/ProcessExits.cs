using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>The exit report an agent's line becomes: with a pid (and a start time derived from it) or, like a seed line, without.</summary>
internal static class ProcessExits
{
    public static ProcessExited Of(string node, ProcessRole role, string id, int exitCode, int? pid = null) => new()
    {
        Role = role, Id = id, ExitCode = exitCode, Pid = pid, StartTime = pid is null ? null : 9_000 + pid,
        Source = new EventSource { Node = node, Stream = $"{role.ToWire()}-{id}.log", ObservedAt = DateTimeOffset.UtcNow },
    };
}
