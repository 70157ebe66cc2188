using ZeroDisk.Contracts;
using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Status;

/// <summary>The human form of a <see cref="StatusReport"/>: one table per section.</summary>
public static class StatusPrinter
{
    public static void Print(StatusReport report, DateTimeOffset now, TextWriter output)
    {
        var clusters = new TextTable("CLUSTER", "STATUS", "ENGINES");
        foreach (var c in report.Clusters) clusters.Add(c.Id, c.Status, c.Engines.ToString());
        Section("Clusters", clusters, output);

        var engines = new TextTable("ENGINE", "CLUSTER", "SHARD", "SIDE", "STATE", "SINCE", "INCIDENT");
        foreach (var e in report.Engines) engines.Add(e.Address, e.Cluster, e.Shard.ToString(), e.Side, e.State.ToWire(), Since(e.Since, now), e.Incident);
        Section("Engines", engines, output);

        var vdisks = new TextTable("VDISK", "PRIMARY", "SLAVE", "SIZE", "BLOCK", "OWNER");
        foreach (var v in report.Vdisks)
            vdisks.Add(v.Id, v.PrimaryCluster, v.SlaveCluster, v.SizeGiB is { } size ? $"{size}GiB" : null, v.BlockSize?.ToString(),
                v.Owner is { } o ? $"{o.Server} ({o.Kind.ToWire()}, epoch {o.Epoch})" : null);
        Section("Vdisks", vdisks, output);

        var repairs = new TextTable("ENGINE", "STATE", "OUTAGE", "PROGRESS", "INCIDENT", "TRACE");
        foreach (var r in report.Repairs)
            repairs.Add(r.Engine, r.State.ToWire(), r.Outage?.ToWire(), $"{r.CompletedVdisks}/{r.AffectedVdisks} vdisks ({r.Percent}%)", r.Incident, r.TraceId);
        Section("Repairs in progress", repairs, output);
        foreach (var r in report.Repairs.Where(r => r.Vdisks.Count > 0))
        {
            output.WriteLine($"  {r.Engine}, incident opened {Since(r.StartedAt, now)}:");
            foreach (var v in r.Vdisks) output.WriteLine($"    {v.VdiskId}: {v.Phase.ToLowerInvariant()}{Job(v.Job, now)}");
        }
    }

    private static void Section(string title, TextTable table, TextWriter output)
    {
        output.WriteLine($"{title}:");
        if (table.Count == 0) output.WriteLine("  (none)");
        else table.WriteTo(output);
        output.WriteLine();
    }

    private static string? Since(DateTimeOffset? at, DateTimeOffset now) =>
        at is { } t ? $"{t.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} ({Ago(now - t)} ago)" : null;

    private static string Job(RepairJobStatus? job, DateTimeOffset now) =>
        job is null ? "" : $", job on {job.Node} {job.State} (epoch {job.Epoch}, heartbeat {Ago(now - job.HeartbeatAt)} ago)";

    private static string Ago(TimeSpan span) => span switch
    {
        { TotalSeconds: < 1 } => "<1s",
        { TotalMinutes: < 1 } => $"{(int)span.TotalSeconds}s",
        { TotalHours: < 1 } => $"{(int)span.TotalMinutes}m{span.Seconds}s",
        { TotalDays: < 1 } => $"{(int)span.TotalHours}h{span.Minutes}m",
        _ => $"{(int)span.TotalDays}d{span.Hours}h",
    };
}
