namespace ZeroDisk.ClusterState.Tests.Zdctl;

/// <summary>`zdctl vdisk create|delete` through the admin API: created, listed by status, refused with the API's reason, deleted and purged.</summary>
public sealed class When_an_operator_creates_and_deletes_a_vdisk
{
    [Fact]
    public async Task It_appears_in_the_status_conflicts_are_explained_and_delete_purges_it()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await using var engines = await RedisClusters.StartAsync(shards: 1);
        await deployment.StartInProcessAsync();
        foreach (var e in engines.Primary.Concat(engines.Slave)) deployment.TrackEngine(e.Address);
        var primary = await deployment.SeedClusterAsync("primary", engines.Primary[0].Address);
        var slave = await deployment.SeedClusterAsync("slave", engines.Slave[0].Address);
        var zdctl = new ZdctlCli(deployment);
        var vdisk = $"{deployment.Scope}-vd1";
        string[] Create(string id, params string[] extra) => ["vdisk", "create", id, "--cluster", primary, "--slave-cluster", slave, .. extra];

        var created = (await zdctl.RunAsync(Create(vdisk, "--size", "2GiB", "--block-size", "512"))).EnsureSuccess("zdctl vdisk create");
        Assert.Contains($"vdisk '{vdisk}' created", created.StdOut);
        Assert.Matches($@"{vdisk}\s+{primary}\s+{slave}\s+2GiB\s+512", (await zdctl.RunAsync("status")).StdOut);

        var again = await zdctl.RunAsync(Create(vdisk));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("refused (409)", again.StdErr);
        Assert.Contains("already exists", again.StdErr);

        // The API's validation (400) is bad input; a size that is not whole GiB never leaves zdctl.
        var badBlock = await zdctl.RunAsync(Create($"{deployment.Scope}-vd2", "--block-size", "1000"));
        Assert.Equal(2, badBlock.ExitCode);
        Assert.Contains("blockSize 1000", badBlock.StdErr);
        var badSize = await zdctl.RunAsync(Create($"{deployment.Scope}-vd2", "--size", "1.5"));
        Assert.Equal(2, badSize.ExitCode);
        Assert.Contains("--size '1.5' must be a whole number of GiB", badSize.StdErr);

        // While a cluster is repairing: 409 with the reason.
        string r0 = deployment.NewEngineAddress(), r1 = deployment.NewEngineAddress();
        var repairing = await deployment.SeedClusterAsync("repairing", r0);
        var mirror = await deployment.SeedClusterAsync("mirror", r1);
        await deployment.ReportFailureAsync(r0);
        await deployment.WaitForEngineAsync(repairing, r0, Contracts.EngineState.Offline);
        var refused = await zdctl.RunAsync("vdisk", "create", $"{deployment.Scope}-vd3", "--cluster", repairing, "--slave-cluster", mirror);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"storage cluster '{repairing}' is repairing", refused.StdErr);

        var deleted = (await zdctl.RunAsync("vdisk", "delete", vdisk)).EnsureSuccess("zdctl vdisk delete");
        Assert.Contains("deleted and its data purged", deleted.StdOut);
        Assert.Contains(engines.Primary[0].Address, deleted.StdOut);
        Assert.DoesNotContain(vdisk, (await zdctl.RunAsync("status")).StdOut);

        var gone = await zdctl.RunAsync("vdisk", "delete", vdisk);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("refused (404)", gone.StdErr);
    }
}
