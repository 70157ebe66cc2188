using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Tests;

public class When_an_engine_returns_without_its_data
{
    [Fact]
    public async Task A_wiped_engine_back_within_the_grace_period_is_permanent_not_temporary()
    {
        await using var scenario = await OutageScenario.StartAsync(deadline: TimeSpan.FromSeconds(60));
        await scenario.ReportOfflineAsync("incident-wiped");
        // FLUSHALL-equivalent: the disk was replaced, the engine answers again at once, empty.
        await scenario.Engine.RestartEmptyAsync();

        var classified = await scenario.ClassificationAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(OutageKind.Permanent, classified.Kind);
        Assert.Contains("marker", classified.Reason);
    }
}
