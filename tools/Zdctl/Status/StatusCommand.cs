using System.CommandLine;
using System.Text.Json;
using ZeroDisk.Contracts;
using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Status;

/// <summary><c>zdctl status [--json]</c>: clusters, engines, vdisks and the repairs in progress, read from etcd.</summary>
public static class StatusCommand
{
    private static readonly JsonSerializerOptions Indented = new(ZeroDiskJson.Options) { WriteIndented = true };

    public static Command Create(GlobalOptions globals)
    {
        var json = new Option<bool>("--json") { Description = "print the status as JSON" };
        var watch = new Option<bool>("--watch", "-w") { Description = "print the status again every --interval seconds until Ctrl-C" };
        var interval = new Option<double>("--interval") { Description = "seconds between two rounds of --watch", DefaultValueFactory = _ => 2 };
        var command = new Command("status", "clusters, engines, vdisks and repairs in progress (read from etcd), with repair progress from the admin API") { json, watch, interval };
        command.SetZdctlAction(globals, async (parse, context, ct) =>
        {
            if (parse.GetValue(watch))
            {
                var seconds = parse.GetValue(interval);
                if (seconds is not (> 0 and <= 3600)) throw new ZdctlException(ExitCodes.BadInput, "--interval must be within 0..3600 seconds");
                return await StatusWatch.RunAsync(context, TimeSpan.FromSeconds(seconds), Console.Out, ct);
            }
            if (parse.GetValue(json)) Console.Out.WriteLine(JsonSerializer.Serialize(await new StatusReader(context.Etcd(), context.Scope).ReadAsync(ct), Indented));
            else await PrintOnceAsync(context, Console.Out, ct);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The status as tables, then the repairs' progress in blocks and bytes (from the admin API) when any repair runs.</summary>
    public static async Task PrintOnceAsync(ZdctlContext context, TextWriter output, CancellationToken ct)
    {
        var report = await new StatusReader(context.Etcd(), context.Scope).ReadAsync(ct);
        StatusPrinter.Print(report, DateTimeOffset.UtcNow, output);
        if (report.Repairs.Count > 0) RepairProgress.Print(await RepairProgress.ReadAsync(context, ct), anyRepair: true, output);
    }
}
