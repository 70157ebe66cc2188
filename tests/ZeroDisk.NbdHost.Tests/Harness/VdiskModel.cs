using System.Security.Cryptography;

namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>What a test wrote to a vdisk, block by block, to compare the whole vdisk against (md5 of the range).</summary>
public sealed class VdiskModel(VdiskStorage vdisk, long blocks)
{
    private readonly byte[]?[] _expected = new byte[]?[blocks];

    public long Blocks => blocks;

    public async Task WriteAsync(long block, int generation)
    {
        var content = TestBlocks.Content(block, vdisk.BlockSize, generation);
        await vdisk.WriteAsync(block * vdisk.BlockSize, content, false, default);
        lock (_expected) _expected[block] = content;
    }

    public async Task ZeroAsync(long block)
    {
        await vdisk.WriteZeroesAsync(block * vdisk.BlockSize, vdisk.BlockSize, false, false, default);
        lock (_expected) _expected[block] = null;
    }

    public byte[]? Expected(long block)
    {
        lock (_expected) return _expected[block];
    }

    /// <summary>The whole range as it should read: each block's last content, zeroes where none is.</summary>
    public byte[] ExpectedImage()
    {
        var image = new byte[blocks * vdisk.BlockSize];
        for (var i = 0; i < blocks; i++) Expected(i)?.CopyTo(image, i * vdisk.BlockSize);
        return image;
    }

    public string ExpectedMd5() => Convert.ToHexString(MD5.HashData(ExpectedImage()));

    public static async Task<string> Md5Async(VdiskStorage vdisk, long blocks)
    {
        var data = new byte[blocks * vdisk.BlockSize];
        await vdisk.ReadAsync(0, data, default);
        return Convert.ToHexString(MD5.HashData(data));
    }
}
