using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Analysis;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

public class EngineProbeTests
{
    private readonly EngineProbe _probe = new(TimeSpan.FromMilliseconds(500));

    [Fact]
    public async Task A_live_engine_with_its_marker_is_healthy_a_killed_one_unreachable()
    {
        await using var engine = await RedisServerProcess.StartAsync();
        await WriteMarkerAsync(engine, "disk-1");
        Assert.Equal(ProbeOutcome.Healthy, (await _probe.ProbeAsync(engine.Address, 0, "disk-1", default)).Outcome);

        await engine.KillAsync();
        Assert.Equal(ProbeOutcome.Unreachable, (await _probe.ProbeAsync(engine.Address, 0, "disk-1", default)).Outcome);
    }

    [Fact]
    public async Task An_engine_back_without_its_marker_lost_its_data()
    {
        await using var engine = await RedisServerProcess.StartAsync();
        await WriteMarkerAsync(engine, "disk-1");
        await engine.RestartEmptyAsync();
        var result = await _probe.ProbeAsync(engine.Address, 0, "disk-1", default);
        Assert.Equal(ProbeOutcome.IdentityLost, result.Outcome);
        Assert.Contains("missing", result.Reason);

        await WriteMarkerAsync(engine, "disk-2");
        Assert.Equal(ProbeOutcome.IdentityLost, (await _probe.ProbeAsync(engine.Address, 0, "disk-1", default)).Outcome);
    }

    [Fact]
    public async Task An_engine_without_durable_settings_is_misconfigured()
    {
        await using var engine = await RedisServerProcess.StartAsync();
        await using (var redis = await EngineConnection.ConnectAsync(engine.Address + ",allowAdmin=true"))
            await redis.GetServers()[0].ConfigSetAsync("appendonly", "no");
        var result = await _probe.ProbeAsync(engine.Address, 0, null, default);
        Assert.Equal(ProbeOutcome.Misconfigured, result.Outcome);
        Assert.Contains("appendonly", result.Reason);
    }

    internal static async Task WriteMarkerAsync(RedisServerProcess engine, string marker)
    {
        await using var redis = await EngineConnection.ConnectAsync(engine.Address);
        await redis.GetDatabase().StringSetAsync(EngineIdentity.RedisKey, marker);
    }
}
