using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Analysis;

namespace ZeroDisk.RepairScheduler.Tests;

public class OutageAnalysisTests
{
    private static readonly SchedulerOptions Fast = FastWithDeadline(TimeSpan.FromSeconds(30));

    private static SchedulerOptions FastWithDeadline(TimeSpan deadline) =>
        new() { ProbeInterval = TimeSpan.FromMilliseconds(1), MaxProbeInterval = TimeSpan.FromMilliseconds(2), Deadline = deadline };

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

    [Fact]
    public async Task An_analysis_resumed_after_its_deadline_still_sees_an_engine_that_is_back()
    {
        // Seen in fault-check seed 7: the scheduler was killed mid-analysis and resumed after the deadline had passed,
        // while the engine answered with its data; its first good probe used to end the analysis as "permanent".
        var options = FastWithDeadline(TimeSpan.FromSeconds(12));
        var probes = 0;
        var result = await new OutageAnalysis(options, TimeProvider.System).RunAsync(
            _ => Task.FromResult(new ProbeResult(ProbeOutcome.Healthy, "good")), _ => probes++, default, started: DateTimeOffset.UtcNow - TimeSpan.FromSeconds(40));
        Assert.Equal(OutageKind.Temporary, result.Kind);
        Assert.Equal(options.GoodProbesForTemporary, probes);
    }

    [Fact]
    public async Task An_analysis_resumed_after_its_deadline_calls_an_engine_that_still_fails_permanent()
    {
        var options = FastWithDeadline(TimeSpan.FromSeconds(12));
        var outcomes = new Queue<ProbeOutcome>([ProbeOutcome.Healthy, ProbeOutcome.Unreachable]);
        var result = await new OutageAnalysis(options, TimeProvider.System).RunAsync(
            _ => Task.FromResult(new ProbeResult(outcomes.Dequeue(), "probe")), _ => { }, default, started: DateTimeOffset.UtcNow - TimeSpan.FromSeconds(40));
        Assert.Equal(OutageKind.Permanent, result.Kind);
        Assert.Contains("deadline", result.Reason);
    }
}
