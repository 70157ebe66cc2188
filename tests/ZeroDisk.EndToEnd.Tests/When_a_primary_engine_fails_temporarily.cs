namespace ZeroDisk.EndToEnd.Tests;

public class When_a_primary_engine_fails_temporarily
{
    [Fact]
    public async Task The_whole_stack_fails_over_repairs_restarts_a_crashed_server_and_loses_nothing()
    {
        var drill = await DrillRunner.RunAsync("--outage", "tmp", "--side", "primary", "--load-seconds", "20", "--crash-server");
        Assert.True(drill.ExitCode == 0, drill.StdOut + drill.StdErr);
        Assert.Contains("Drill passed: every check held.", drill.StdOut);
    }
}
