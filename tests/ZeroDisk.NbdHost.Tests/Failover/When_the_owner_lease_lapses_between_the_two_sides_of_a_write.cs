namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// A torn mirrored write (<see cref="TornWrite"/>): the primary holds a write the slave never got, and no dirty mark
/// says so. The next owner (the same server claiming the vdisk again, as a fresh term) must make both sides hold the
/// same content before it serves: otherwise a read returns the new content while the primary serves and the old one
/// after it fails. Before the takeover checked the engines' recent-write windows, the two sides stayed different for
/// good (fault-checker seed 1000: "primary and slave differ in block 0").
/// </summary>
public sealed class When_the_owner_lease_lapses_between_the_two_sides_of_a_write(ITestOutputHelper output) : StorageHarnessTest(output)
{
    protected override StorageOptions? Options => TornWrite.ServerOptions;

    [Fact]
    public async Task The_next_owner_makes_both_sides_the_same_before_serving()
    {
        var first = H.Vdisk;
        var torn = await TornWrite.MakeAsync(H, missing: ClusterSide.Slave, Output);

        var second = await TornWrite.ClaimedAgainAsync(H, first);
        var differing = await TornWrite.DifferingBlocksAsync(H);
        Assert.True(differing.Count == 0, $"primary and slave differ in block(s) {string.Join(' ', differing)} after the takeover");
        Assert.Contains(H.Logs.Lines, l => l.Contains("did not make on both sides", StringComparison.Ordinal));

        // What the vdisk serves is what both sides hold.
        var read = new byte[H.BlockSize];
        await second.ReadAsync(torn * H.BlockSize, read, CancellationToken.None);
        Assert.Equal((byte[]?)await H.Inspect(H.Clusters.Slave[0]).HashGetAsync(H.BlocksKey, torn), read);
    }
}
