namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// The failover of <see cref="When_a_primary_engine_dies_during_writes"/> with blocks so large that every write is a
/// large call, sent as a transaction behind WATCH instead of the block-writing script: the writers see no error, the
/// killed engine's dirty set on the slave gets every block written after the kill, and everything reads back.
/// </summary>
public sealed class When_a_primary_engine_dies_during_large_writes(ITestOutputHelper output) : StorageHarnessTest
{
    protected override int BlockSize => EngineWriteCombiner.WatchedFromBytes;

    [Fact]
    public Task Writers_see_no_error_and_the_dead_engine_gets_a_dirty_set() => WritersThroughAnEngineDeath.RunAsync(H, blocks: 64, output);
}
