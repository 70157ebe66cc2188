using System.Text.Json;
using ZeroDisk.Contracts;
using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Status;

/// <summary>ClusterState's <c>/status/repairs</c> answer: each incident's progress as its observer measured it.</summary>
public sealed record RepairProgressReport(DateTimeOffset ObservedAt, IReadOnlyList<RepairProgressRow> Repairs);

public sealed record RepairProgressRow(
    string Engine, EngineState State, double AgeSeconds, int CompletedVdisks, int AffectedVdisks,
    long? RemainingBlocks, long? TotalBlocks, long? RemainingBytes, long? TotalBytes,
    double? BlocksPerSecond, double? BytesPerSecond, double? EtaSeconds, double Progress, IReadOnlyList<RepairBlockRow> Blocked);

public sealed record RepairBlockRow(string Code, string Reason, string Action);

/// <summary>
/// The progress section of <c>zdctl status</c>: blocks and bytes copied, rate and ETA (where the observer can count
/// them: a temporary outage's dirty blocks), and why a repair is blocked. The rate needs ClusterState's observer;
/// when the admin API does not answer, the section says so and the rest of the status (read from etcd) stands.
/// </summary>
public static class RepairProgress
{
    public static async Task<RepairProgressReport?> ReadAsync(ZdctlContext context, CancellationToken ct)
    {
        try
        {
            var reply = await context.Admin().GetAsync("/status/repairs", ct);
            return reply.Succeeded ? reply.Body.Deserialize<RepairProgressReport>(ZeroDiskJson.Options) : null;
        }
        catch (ZdctlException)
        {
            return null;
        }
    }

    public static void Print(RepairProgressReport? report, bool anyRepair, TextWriter output)
    {
        if (!anyRepair) return;
        output.WriteLine("Repair progress:");
        if (report is null)
        {
            output.WriteLine("  (ClusterState's admin API did not answer: no blocks, rate or ETA)");
            output.WriteLine();
            return;
        }
        var table = new TextTable("ENGINE", "STATE", "PROGRESS", "BLOCKS", "BYTES", "RATE", "ETA", "AGE");
        foreach (var r in report.Repairs)
            table.Add(r.Engine, r.State.ToWire(), $"{r.Progress:P0} ({r.CompletedVdisks}/{r.AffectedVdisks} vdisks)",
                r.TotalBlocks is { } total && r.RemainingBlocks is { } left ? $"{total - left}/{total}" : "-",
                r.TotalBytes is { } bytes && r.RemainingBytes is { } leftBytes ? $"{Size(bytes - leftBytes)}/{Size(bytes)}" : "-",
                r.BlocksPerSecond is { } rate ? $"{rate:0.#} blk/s ({Size((long)(r.BytesPerSecond ?? 0))}/s)" : "-",
                r.EtaSeconds is { } eta ? Duration(eta) : "-", Duration(r.AgeSeconds));
        if (table.Count == 0) output.WriteLine("  (none)");
        else table.WriteTo(output);
        foreach (var r in report.Repairs)
            foreach (var b in r.Blocked)
                output.WriteLine($"  BLOCKED {r.Engine} [{b.Code}]: {b.Reason}; first action: {b.Action}");
        output.WriteLine();
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.#}GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.#}MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.#}KiB",
        _ => $"{bytes}B",
    };

    private static string Duration(double seconds) => seconds switch
    {
        >= 3600 => $"{(int)(seconds / 3600)}h{(int)(seconds % 3600 / 60):00}m",
        >= 60 => $"{(int)(seconds / 60)}m{(int)(seconds % 60):00}s",
        _ => $"{seconds:0}s",
    };
}
