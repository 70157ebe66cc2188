using System.CommandLine;
using System.Text.Json;
using ZeroDisk.Contracts;
using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Health;

/// <summary>
/// <c>zdctl health [detail] [--json]</c>, as <c>ceph health [detail]</c>: one verdict line (HEALTH_OK, HEALTH_WARN or
/// HEALTH_ERR), then each named check with its first action; <c>detail</c> adds the engines, shards and repairs each
/// check is about. ClusterState makes the verdict (<c>/status/health</c>); when it does not answer, that is itself
/// the verdict: HEALTH_ERR, CLUSTERSTATE_UNREACHABLE. Exit status 0 for HEALTH_OK, 1 for WARN or ERR, 3 unreachable.
/// </summary>
public static class HealthCommand
{
    public const string Unreachable = "CLUSTERSTATE_UNREACHABLE";

    public static Command Create(GlobalOptions globals)
    {
        var detail = new Argument<string?>("detail") { Description = "'detail': list what each check is about", Arity = ArgumentArity.ZeroOrOne };
        detail.AcceptOnlyFromAmong("detail");
        var json = new Option<bool>("--json") { Description = "print ClusterState's verdict as JSON" };
        var command = new Command("health", "the health verdict (HEALTH_OK / HEALTH_WARN / HEALTH_ERR) with named checks and the first action for each") { detail, json };
        command.SetZdctlAction(globals, async (parse, context, ct) =>
        {
            HealthReport report;
            try
            {
                report = await ReadAsync(context.Admin(), ct);
            }
            catch (ZdctlException ex) when (ex.ExitCode == ExitCodes.Unreachable)
            {
                report = new HealthReport("HEALTH_ERR", DateTimeOffset.UtcNow,
                    [new HealthCheckItem(Unreachable, "HEALTH_ERR", "ClusterState's admin API does not answer: no verdict on the clusters", [ex.Message],
                        $"Check the clusterstate service (its /health/live and log); `zdctl status` reads etcd directly meanwhile")]);
                Print(report, parse.GetValue(detail) is not null, parse.GetValue(json), Console.Out);
                return ExitCodes.Unreachable;
            }
            Print(report, parse.GetValue(detail) is not null, parse.GetValue(json), Console.Out);
            return report.Status == "HEALTH_OK" ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return command;
    }

    public static async Task<HealthReport> ReadAsync(AdminClient admin, CancellationToken ct)
    {
        var reply = await admin.GetAsync("/status/health", ct);
        if (!reply.Succeeded) throw new ZdctlException(ExitCodes.Refused, $"ClusterState answered {reply.Status} to /status/health: {reply.Message}");
        return reply.Body.Deserialize<HealthReport>(ZeroDiskJson.Options) ?? throw new ZdctlException(ExitCodes.Refused, "ClusterState's /status/health answer is empty");
    }

    public static void Print(HealthReport report, bool detail, bool json, TextWriter output)
    {
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions(ZeroDiskJson.Options) { WriteIndented = true }));
            return;
        }
        output.WriteLine(report.Checks.Count == 0 ? report.Status : $"{report.Status} {string.Join("; ", report.Checks.Select(c => c.Summary))}");
        foreach (var check in report.Checks)
        {
            output.WriteLine($"[{(check.Severity == "HEALTH_ERR" ? "ERR" : "WRN")}] {check.Check}: {check.Summary}");
            if (detail)
                foreach (var line in check.Detail) output.WriteLine($"    {line}");
            output.WriteLine($"    first action: {check.Action}");
        }
    }
}
