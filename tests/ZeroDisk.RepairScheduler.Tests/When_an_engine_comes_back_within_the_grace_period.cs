using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Tests;

public class When_an_engine_comes_back_within_the_grace_period
{
    [Fact]
    public async Task The_outage_is_classified_temporary()
    {
        await using var scenario = await OutageScenario.StartAsync(deadline: TimeSpan.FromSeconds(30));
        await scenario.Engine.KillAsync();
        await scenario.ReportOfflineAsync("incident-tmp");
        await Task.Delay(1500);
        await scenario.Engine.RestartAsync();

        var classified = await scenario.ClassificationAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(OutageKind.Temporary, classified.Kind);
        Assert.Equal("incident-tmp", classified.Incident);
        Assert.Contains("good probes", classified.Reason);
    }
}
