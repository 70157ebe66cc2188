namespace ZeroDisk.EndToEnd.Tests;

public class When_a_slave_engine_is_lost_for_good
{
    [Fact]
    public async Task The_whole_stack_respreads_its_shard_and_loses_nothing()
    {
        var drill = await DrillRunner.RunAsync("--outage", "final", "--side", "slave", "--load-seconds", "20");
        Assert.True(drill.ExitCode == 0, drill.StdOut + drill.StdErr);
        Assert.Contains("Drill passed: every check held.", drill.StdOut);
    }
}
