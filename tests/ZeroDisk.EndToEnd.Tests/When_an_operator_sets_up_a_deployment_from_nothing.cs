namespace ZeroDisk.EndToEnd.Tests;

/// <summary>
/// From nothing, zdctl (the built tool, through ClusterState's admin API and its token) creates a
/// primary and a slave cluster (identity markers on the engines and in etcd), a vdisk, assigns it to an NBD server
/// and has a node's agent start that server; qemu-io then writes and reads it, and deleting the served vdisk is
/// refused with its data left alone. The failure drills (the other tests here) run on a deployment set up the same way.
/// </summary>
public class When_an_operator_sets_up_a_deployment_from_nothing
{
    [Fact]
    public async Task Zdctl_builds_a_serving_deployment_with_identity_markers_everywhere()
    {
        var drill = await DrillRunner.RunAsync("--setup-only");
        Assert.True(drill.ExitCode == 0, drill.StdOut + drill.StdErr);
        Assert.Contains("Drill passed: every check held.", drill.StdOut);
        foreach (var check in new[]
                 {
                     "zdctl cluster create", "every engine carries the identity marker etcd registers", "zdctl vdisk create", "zdctl nbdserver assign",
                     "zdctl nbdserver start", "NBD server serves through the agent", "qemu-io writes and reads the vdisk zdctl set up",
                     "deleting the served vdisk is refused (409)", "its data untouched by the refused delete",
                 })
            Assert.Contains(check, drill.StdOut);
    }
}
