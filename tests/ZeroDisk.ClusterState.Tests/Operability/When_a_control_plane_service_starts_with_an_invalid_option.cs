namespace ZeroDisk.ClusterState.Tests.Operability;

/// <summary>
/// ClusterState, the scheduler and the collector as real processes with one wrong option each: every one exits at
/// start with exit code 2 and a line naming the option, not a stack trace. Their bus and etcd answer nothing; the
/// options are checked before either is used.
/// </summary>
public sealed class When_a_control_plane_service_starts_with_an_invalid_option
{
    [Theory]
    [InlineData("ClusterState", "clusterstate", "ClusterState__PartitionCount", "0", "ClusterState:PartitionCount")]
    [InlineData("ClusterState", "clusterstate", "ClusterState__Observer__Interval", "-00:00:01", "ClusterState:Observer:Interval")]
    [InlineData("RepairScheduler", "repairscheduler", "Scheduler__ProbeTimeout", "00:00:00", "Scheduler:ProbeTimeout")]
    [InlineData("RepairScheduler", "repairscheduler", "Scheduler__Deadline", "ten minutes", "Scheduler:Deadline")]
    [InlineData("LogCollector", "logcollector", "LogCollector__MaxInFlight", "0", "LogCollector:MaxInFlight")]
    [InlineData("LogCollector", "logcollector", "LogCollector__RescanInterval", "00:00:00", "LogCollector:RescanInterval")]
    public async Task It_exits_naming_the_option(string project, string assembly, string variable, string value, string named)
    {
        var result = await ExternalProcess.RunAsync("dotnet", [ServiceProcesses.Dll(project, assembly)], TimeSpan.FromSeconds(90), new Dictionary<string, string>
        {
            ["RABBITMQ_URI"] = "amqp://guest:guest@127.0.0.1:1/",
            ["ETCD_ENDPOINTS"] = "http://127.0.0.1:1",
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["Operations__Url"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["LogCollector__Directory"] = Path.GetTempPath(),
            [variable] = value,
        });

        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.StdErr}");
        Assert.Contains("invalid configuration: ", result.StdErr);
        Assert.Contains(named, result.StdErr);
        Assert.DoesNotContain("Unhandled exception", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdOut + result.StdErr); // no stack trace, in the log either
    }
}
