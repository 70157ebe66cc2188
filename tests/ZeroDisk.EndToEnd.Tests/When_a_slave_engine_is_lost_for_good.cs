namespace ZeroDisk.EndToEnd.Tests;

/// <summary>
/// A permanent slave outage, and on top of it the crashes an agent's node adds: the agent running the repair job of the
/// vdisk nobody serves is SIGKILLed mid-job (the job must be dispatched again and resume), and one of vd2's three
/// tlog servers is SIGKILLed under a write load with flushes (it must be restarted; the load must not notice).
/// </summary>
public class When_a_slave_engine_is_lost_for_good
{
    [Fact]
    public async Task The_whole_stack_respreads_its_shard_survives_an_agent_and_a_tlog_crash_and_loses_nothing()
    {
        var drill = await DrillRunner.RunAsync("--outage", "final", "--side", "slave", "--load-seconds", "20", "--kill-repair-agent", "--crash-tlog");
        Assert.True(drill.ExitCode == 0, drill.StdOut + drill.StdErr);
        Assert.Contains("Drill passed: every check held.", drill.StdOut);
        foreach (var check in new[] { "orphaned repair process", "dispatched again after", "resumed where", "tlog server restarted", "while a tlog" })
            Assert.Contains(check, drill.StdOut);
    }
}
