namespace ZeroDisk.NbdHost.Storage;

/// <summary>
/// Striped per-block locks of one vdisk: a partial-block read-modify-write, a full-block write and a repair copy
/// of the same block never interleave. Each operation holds one stripe at a time, so there is no lock order to break.
/// </summary>
internal sealed class BlockLocks
{
    private readonly SemaphoreSlim[] _stripes;

    public BlockLocks(int stripes)
    {
        _stripes = new SemaphoreSlim[stripes];
        for (var i = 0; i < stripes; i++) _stripes[i] = new SemaphoreSlim(1, 1);
    }

    public SemaphoreSlim For(long block) => _stripes[(int)((ulong)block % (ulong)_stripes.Length)];
}
