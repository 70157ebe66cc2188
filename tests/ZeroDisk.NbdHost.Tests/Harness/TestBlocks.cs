namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>Recognisable block contents: each (generation, block) pair has its own bytes.</summary>
public static class TestBlocks
{
    public static byte[] Content(long block, int size, int generation = 1)
    {
        var bytes = new byte[size];
        new Random(HashCode.Combine(block, generation)).NextBytes(bytes);
        return bytes;
    }
}
