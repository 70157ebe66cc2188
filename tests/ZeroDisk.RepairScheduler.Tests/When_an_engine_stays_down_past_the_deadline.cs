using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Tests;

public class When_an_engine_stays_down_past_the_deadline
{
    [Fact]
    public async Task The_outage_is_classified_permanent()
    {
        await using var scenario = await OutageScenario.StartAsync(deadline: TimeSpan.FromSeconds(3));
        await scenario.Engine.KillAsync();
        var reported = DateTime.UtcNow;
        await scenario.ReportOfflineAsync("incident-final");

        var classified = await scenario.ClassificationAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(OutageKind.Permanent, classified.Kind);
        Assert.Contains("deadline", classified.Reason);
        Assert.True(DateTime.UtcNow - reported >= TimeSpan.FromSeconds(2.5), "classified permanent before the deadline");
    }
}
