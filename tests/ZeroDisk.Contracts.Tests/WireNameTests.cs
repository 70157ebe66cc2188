using System.Text.Json;
using ZeroDisk.Contracts;

namespace ZeroDisk.Contracts.Tests;

public class WireNameTests
{
    [Theory]
    [InlineData(EngineState.Online, "online")]
    [InlineData(EngineState.Offline, "offline")]
    [InlineData(EngineState.RepairTmpOutage, "repair-tmp-outage")]
    [InlineData(EngineState.RepairFinalOutage, "repair-final-outage")]
    [InlineData(EngineState.Rip, "rip")]
    public void Engine_states_have_the_seed_spelling(EngineState state, string wire)
    {
        Assert.Equal(wire, state.ToWire());
        Assert.Equal(state, WireNames<EngineState>.Parse(wire));
        Assert.Equal($"\"{wire}\"", JsonSerializer.Serialize(state, ZeroDiskJson.Options));
    }

    [Theory]
    [InlineData(ClusterStatus.Healthy, "healthy")]
    [InlineData(ClusterStatus.Repairing, "repairing")]
    public void Cluster_statuses_have_the_seed_spelling(ClusterStatus status, string wire)
    {
        Assert.Equal(wire, status.ToWire());
        Assert.Equal(status, JsonSerializer.Deserialize<ClusterStatus>($"\"{wire}\"", ZeroDiskJson.Options));
    }

    [Fact]
    public void An_unknown_state_is_rejected_with_the_valid_ones_named()
    {
        var ex = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<EngineState>("\"Online\"", ZeroDiskJson.Options));
        Assert.Contains("repair-tmp-outage", ex.Message);
        Assert.False(WireNames<EngineState>.TryParse("broken", out _));
    }
}
