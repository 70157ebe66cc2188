using System.Security.Cryptography;

namespace ZeroDisk.LocalStack;

/// <summary>md5 of image files, as the checks print and compare them (lower-case hex).</summary>
public static class FileHashes
{
    public static string Md5(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(file));
    }

    /// <summary>md5 of the first <paramref name="length"/> bytes (fewer when the file is shorter): an image read back from a larger export.</summary>
    public static string Md5Prefix(string path, long length)
    {
        using var file = File.OpenRead(path);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = new byte[1 << 20];
        for (var left = length; left > 0;)
        {
            var n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) break;
            md5.AppendData(buffer, 0, n);
            left -= n;
        }
        return Convert.ToHexStringLower(md5.GetHashAndReset());
    }
}
