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
        var command = new Command("status", "clusters, engines, vdisks and repairs in progress (read from etcd)") { json };
        command.SetZdctlAction(globals, async (parse, context, ct) =>
        {
            var report = await new StatusReader(context.Etcd(), context.Scope).ReadAsync(ct);
            if (parse.GetValue(json)) Console.Out.WriteLine(JsonSerializer.Serialize(report, Indented));
            else StatusPrinter.Print(report, DateTimeOffset.UtcNow, Console.Out);
            return ExitCodes.Ok;
        });
        return command;
    }
}
