using Xunit.Abstractions;
using ZeroDisk.LocalStack;

namespace ZeroDisk.FaultSchedule.Tests;

/// <summary>
/// CI's seeds: the checker (tools/FaultCheck) as its own process, exactly as scripts/fault-check.sh runs it, on the
/// fault kinds main survives today. A failure prints the seed, the schedule, the first violating block with its
/// history and where the logs are; rerun it with <c>zdfaultcheck --seed N --seconds S</c>.
/// </summary>
[Collection(FaultCheckRun.Collection)]
public class When_fixed_seeds_run_on_the_real_stack(ITestOutputHelper output)
{
    [Theory]
    [InlineData(7)]
    public async Task The_seed_passes(int seed) =>
        await FaultCheckRun.PassesAsync(output, seed, "--seconds", "40");

    /// <summary>
    /// A vdisk's owner lease revoked in etcd under its server (twice in this seed), among an engine kill, a client pause
    /// and server kills. The kind came after the default set was fixed (which seed 7 draws from), so it is named here.
    /// </summary>
    [Fact]
    public async Task A_seed_with_owner_lease_lapses_passes() =>
        await FaultCheckRun.PassesAsync(output, 1, "--seconds", "40", "--kinds", "OwnerLeaseLapse,EngineKill,ClientPause,ServeKill");
}

/// <summary>
/// Regression seeds (every defect the checker finds gets a test named after its seed). Each reruns the
/// seed, or the part of its schedule that showed the defect, cut to end soon after its last fault heals (CI's
/// budget), and must pass.
/// </summary>
[Collection(FaultCheckRun.Collection)]
public class When_the_seeds_that_found_defects_run_again(ITestOutputHelper output)
{
    /// <summary>
    /// Seed 3 (2026-12-05/06): two failure reports of one slave engine raced in ClusterState; the attempt that lost
    /// its etcd compare had already published an offline transition with its own incident, and the endpoint's outbox
    /// sent it. The scheduler followed that phantom incident, its classification was ignored, and the engine stayed
    /// offline (not settled in 180 s). Fixed: each saga attempt has its own outbox (EtcdSagaDefinition).
    /// </summary>
    [Fact]
    public async Task Seed_3_an_engine_reported_twice_is_classified_and_repaired() =>
        await FaultCheckRun.PassesAsync(output, 3, "--seconds", "40", "--kinds", "EngineRestartOld,MaxMemory,EngineKill,ServeKill", "--length", "32");

    /// <summary>
    /// Seed 1000: an engine killed for good and declared permanent, then etcd SIGKILLed (faults #1, #2). Four defects
    /// in turn: failure reports consumed while etcd was down went to ClusterState's error queue; the scheduler consumed
    /// the offline and repair-final-outage transitions at once and the older one deleted the newer campaign's record,
    /// so the vdisk nobody served was never respread (fixed: an older transition stops nothing a newer one started, a
    /// campaign re-records a vanished record); the verifier sent a served vdisk back for a block trimmed at its new
    /// home after its recorded switch (fixed: a respread recorded done is no leftover); and on the merged tree the
    /// scheduler's own consumers faulted into their error queues during the etcd kill, so a vdisk's repair saga stayed
    /// Running (fixed: every endpoint of every service waits for etcd, ServiceDefaults' EtcdUnavailableRetry).
    /// Deterministic tests: When_two_transitions_of_an_engine_race, When_a_respread_is_verified,
    /// When_etcd_is_down_while_the_scheduler_consumes (RepairScheduler tests).
    /// </summary>
    [Fact]
    public async Task Seed_1000_a_permanent_outage_during_an_etcd_outage_ends_in_rip() =>
        await FaultCheckRun.PassesAsync(output, 1000, "--seconds", "60", "--kinds", "all", "--only", "1,2", "--length", "20");
}

internal static class FaultCheckRun
{
    /// <summary>One seed at a time: a seed may kill and restart the shared etcd or RabbitMQ under another's run.</summary>
    public const string Collection = "fault-check seeds";

    public static async Task PassesAsync(ITestOutputHelper output, int seed, params string[] args)
    {
        var endpoints = await LocalInfrastructure.GetAsync();
        var checker = Path.Combine(AppContext.BaseDirectory, "zdfaultcheck.dll");
        var result = await ExternalProcess.RunAsync("dotnet", [checker, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args],
            TimeSpan.FromMinutes(9.5), new Dictionary<string, string>(endpoints.ToEnvironment()));
        output.WriteLine(result.StdOut);
        output.WriteLine(result.StdErr);
        Assert.True(result.ExitCode == 0 && result.StdOut.Contains($"FAULTCHECK PASS seed {seed}", StringComparison.Ordinal),
            $"seed {seed} failed (exit {result.ExitCode}):\n{Tail(result.StdOut)}\n{Tail(result.StdErr)}");
    }

    private static string Tail(string text) => text.Length > 6000 ? text[^6000..] : text;
}
