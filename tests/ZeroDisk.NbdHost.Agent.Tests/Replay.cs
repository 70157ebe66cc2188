using System.Security.Cryptography;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>Runs <c>nbdhost replay</c> as a real process and returns the md5 of the image it wrote.</summary>
public static class Replay
{
    public static async Task<string> ToImageMd5Async(IEnumerable<string> servers, string vdiskId, string image, long size, string? until = null)
    {
        File.Delete(image);
        var (fileName, prefix) = NbdHostProcess.Executable();
        string[] arguments = [.. prefix, "replay", "--tlog", string.Join(',', servers), "--vdisk", vdiskId, "--to", image, "--size", size.ToString(),
            .. until is null ? Array.Empty<string>() : ["--until", until]];
        (await ExternalProcess.RunAsync(fileName, arguments, TimeSpan.FromMinutes(2))).EnsureSuccess("nbdhost replay");
        return Md5(await File.ReadAllBytesAsync(image));
    }

    public static string Md5(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(MD5.HashData(data));
}
