using ZeroDisk.Testing;

namespace ZeroDisk.EndToEnd.Tests;

/// <summary>Runs the README's failure drill (tools/Drill) as its own process, exactly as an operator would.</summary>
internal static class DrillRunner
{
    public static async Task<ExternalProcess.Result> RunAsync(params string[] args)
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var drill = Path.Combine(AppContext.BaseDirectory, "zddrill.dll");
        var result = await ExternalProcess.RunAsync("dotnet", [drill, .. args], TimeSpan.FromMinutes(8),
            new Dictionary<string, string>(endpoints.ToEnvironment()) { ["NO_COLOR"] = "1", ["COLUMNS"] = "200" });
        return result;
    }
}
