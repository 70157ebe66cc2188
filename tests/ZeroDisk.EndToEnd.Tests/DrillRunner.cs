using ZeroDisk.LocalStack;
using ZeroDisk.Testing;

namespace ZeroDisk.EndToEnd.Tests;

/// <summary>
/// Runs the README's failure drill (tools/Drill) as its own process, exactly as an operator would, and checks that it
/// left no queue or exchange on the broker: a drill is run against production RabbitMQ, where every exchange left
/// bound to a contract costs each later publish of that contract a routing step, for good.
/// </summary>
internal static class DrillRunner
{
    public static Task<ExternalProcess.Result> RunAsync(params string[] args) => RunAsync(new Dictionary<string, string>(), args);

    /// <param name="environment">Variables that replace the shared infrastructure's for this drill (e.g. another etcd, credentials).</param>
    public static async Task<ExternalProcess.Result> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        // The drill built in the same configuration as this test (bin/<configuration>/net10.0/).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var drill = Path.Combine(RepoPaths.Root, "tools", "Drill", "bin", configuration, "net10.0", "zddrill.dll");
        var before = await RabbitMqManagement.EndpointNamesAsync(endpoints);
        // 15 min: on the shared 2-core machine (load average ~100 with seven engineers) a set-up-only drill took 8.
        var result = await ExternalProcess.RunAsync("dotnet", [drill, .. args], TimeSpan.FromMinutes(15),
            new Dictionary<string, string>(endpoints.ToEnvironment()) { ["NO_COLOR"] = "1", ["COLUMNS"] = "200" }
                .Concat(environment).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value));
        // Message-type exchanges ("Namespace:Type") are the contracts' own, shared by every service: they stay.
        var left = (await RabbitMqManagement.EndpointNamesAsync(endpoints)).Except(before).Where(n => !n.Contains(':')).ToList();
        Assert.True(left.Count == 0, $"the drill left on the broker: {string.Join(", ", left.Take(20))}");
        return result;
    }
}
