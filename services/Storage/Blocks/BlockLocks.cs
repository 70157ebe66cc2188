namespace ZeroDisk.Storage;

/// <summary>
/// Striped per-block locks of one vdisk: a partial-block read-modify-write, a full-block write and a repair copy
/// of the same block never interleave. A client operation holds one stripe at a time; a repair page holds many
/// (<see cref="AcquireAsync"/>), always taken in ascending stripe order, so two pages never wait on each other in a
/// cycle and a client write waits at most for one page.
/// </summary>
internal sealed class BlockLocks
{
    private readonly SemaphoreSlim[] _stripes;

    public BlockLocks(int stripes)
    {
        _stripes = new SemaphoreSlim[stripes];
        for (var i = 0; i < stripes; i++) _stripes[i] = new SemaphoreSlim(1, 1);
    }

    public SemaphoreSlim For(long block) => _stripes[StripeOf(block)];

    /// <summary>Takes the stripes of all <paramref name="blocks"/> (each once, in ascending order); dispose to release them.</summary>
    public async Task<Held> AcquireAsync(IEnumerable<long> blocks)
    {
        var stripes = blocks.Select(StripeOf).Distinct().Order().ToArray();
        var taken = 0;
        try
        {
            for (; taken < stripes.Length; taken++) await _stripes[stripes[taken]].WaitAsync();
        }
        finally
        {
            if (taken < stripes.Length) new Held(this, stripes, taken).Dispose();
        }
        return new Held(this, stripes, taken);
    }

    private int StripeOf(long block) => (int)((ulong)block % (ulong)_stripes.Length);

    /// <summary>Stripes held by a repair page.</summary>
    public readonly struct Held(BlockLocks locks, int[] stripes, int count) : IDisposable
    {
        public void Dispose()
        {
            for (var i = 0; i < count; i++) locks._stripes[stripes[i]].Release();
        }
    }
}
