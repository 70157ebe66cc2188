using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>The scheduler's verification (ClusterState:RequireRepairVerification, on by default): online only on a clean verification.</summary>
public sealed class When_a_repair_must_be_verified
{
    [Fact]
    public async Task Leftover_vdisks_are_repaired_again_and_only_a_clean_verdict_brings_the_engine_online()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        deployment.AnswerVerifications = false; // this test gives the verdicts
        var clusters = await deployment.SeedMirroredClustersAsync(vdisks: ["vd1", "vd2"]);
        var (primary, engine, vd1, vd2) = (clusters.Primary, clusters.PrimaryEngines[0], clusters.Vdisks[0], clusters.Vdisks[1]);

        var incident = await deployment.StartRepairAsync(primary, engine, OutageKind.Temporary);
        await deployment.CompleteAsync(engine, vd1, RepairKind.Tmp, incident);
        await deployment.CompleteAsync(engine, vd2, RepairKind.Tmp, incident);
        await Eventually.UntilAsync(async () => (await deployment.EngineSagaAsync(engine))!.AllVdisksCompleted, "both completions are counted");
        Assert.Equal(EngineState.RepairTmpOutage, await deployment.EngineStateAsync(primary, engine));
        await Eventually.TrueAsync(() => deployment.VerificationRequests.Any(r => r.Address == engine && r.Incident == incident && r.Kind == RepairKind.Tmp),
            TimeSpan.FromSeconds(30), "the scheduler is asked to verify");

        // The scan still finds dirty blocks of vd2: it is repaired again.
        await Verdict(deployment, engine, incident, clean: false, leftover: [vd2]);
        await Eventually.UntilAsync(async () => (await deployment.VdiskRepairSagaAsync(vd2, incident))?.CurrentState == "Running", "vd2's repair runs again");
        Assert.Equal([vd1], (await deployment.EngineSagaAsync(engine))!.CompletedVdisks);
        // A clean verdict before vd2 completed again is no verdict on this repair.
        await Verdict(deployment, engine, incident, clean: true, leftover: []);
        await Task.Delay(500);
        Assert.Equal(EngineState.RepairTmpOutage, await deployment.EngineStateAsync(primary, engine));

        await deployment.CompleteAsync(engine, vd2, RepairKind.Tmp, incident);
        await Eventually.UntilAsync(async () => (await deployment.EngineSagaAsync(engine))!.AllVdisksCompleted, "vd2 completed again");
        await Verdict(deployment, engine, "another-incident", clean: true, leftover: []);
        await Task.Delay(300);
        Assert.Equal(EngineState.RepairTmpOutage, await deployment.EngineStateAsync(primary, engine));
        await Verdict(deployment, engine, incident, clean: true, leftover: []);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Online);
        await deployment.WaitForClusterAsync(primary, ClusterStatus.Healthy);
        Assert.Equal("the repair was verified clean", (await deployment.EngineSagaAsync(engine))!.History[^1].Reason);
        // What matters is that vd2 ran and completed twice.
        Assert.Equal(["Running", "Completed", "Running", "Completed"], await deployment.VdiskRepairPhasesAsync(vd2, incident, 4));
    }

    private static Task Verdict(ClusterStateDeployment deployment, string engine, string incident, bool clean, IReadOnlyList<string> leftover) =>
        deployment.Publisher.Publish(new RepairVerified { Address = engine, Incident = incident, Clean = clean, LeftoverVdisks = leftover });
}
