namespace ZeroDisk.Contracts;

/// <summary>Lamping–Veach jump consistent hash, bit for bit as the original 0-Disk used it.</summary>
public static class JumpHash
{
    public const ulong Multiplier = 2862933555777941757UL;

    public static int Bucket(ulong key, int buckets)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(buckets);
        long b = -1, j = 0;
        while (j < buckets)
        {
            b = j;
            key = unchecked(key * Multiplier + 1);
            j = (long)((b + 1) * ((double)(1L << 31) / (double)((key >> 33) + 1)));
        }
        return (int)b;
    }
}
