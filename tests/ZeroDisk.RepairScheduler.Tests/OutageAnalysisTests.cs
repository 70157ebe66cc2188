using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Analysis;

namespace ZeroDisk.RepairScheduler.Tests;

public class OutageAnalysisTests
{
    private static readonly SchedulerOptions Fast = new() { ProbeInterval = TimeSpan.FromMilliseconds(1), MaxProbeInterval = TimeSpan.FromMilliseconds(2), Deadline = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task A_flapping_engine_needs_three_good_probes_in_a_row()
    {
        var outcomes = new Queue<ProbeOutcome>([ProbeOutcome.Healthy, ProbeOutcome.Healthy, ProbeOutcome.Unreachable, ProbeOutcome.Healthy, ProbeOutcome.Healthy, ProbeOutcome.Healthy, ProbeOutcome.Unreachable]);
        var probes = 0;
        var result = await new OutageAnalysis(Fast, TimeProvider.System).RunAsync(_ => Task.FromResult(new ProbeResult(outcomes.Dequeue(), "")), _ => probes++, default);
        Assert.Equal(OutageKind.Temporary, result.Kind);
        Assert.Equal(6, probes);
    }

    [Fact]
    public async Task A_misconfigured_engine_is_not_back()
    {
        var options = new SchedulerOptions { ProbeInterval = TimeSpan.FromMilliseconds(5), Deadline = TimeSpan.FromMilliseconds(200) };
        var result = await new OutageAnalysis(options, TimeProvider.System).RunAsync(_ => Task.FromResult(new ProbeResult(ProbeOutcome.Misconfigured, "appendonly is 'no'")), _ => { }, default);
        Assert.Equal(OutageKind.Permanent, result.Kind);
        Assert.Contains("appendonly", result.Reason);
    }
}
