using System.Security.Cryptography;
using ZeroDisk.Nbd.Tests.Support;
using ZeroDisk.Testing;

namespace ZeroDisk.Nbd.Tests.Clients;

/// <summary>nbdcopy (many connections, 32 MiB-ish requests, block status) copies an image in and out unchanged.</summary>
public sealed class When_nbdcopy_round_trips_an_image : IAsyncLifetime
{
    private const long ImageSize = 256L << 20;
    private InMemoryNbdServer _server = null!;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), TestNames.Unique("nbdcopy"));

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _server = InMemoryNbdServer.Start(c => c.Add("vd", ImageSize));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_256_MiB_random_image_comes_back_with_the_same_md5()
    {
        var source = Path.Combine(_directory, "source.img");
        var back = Path.Combine(_directory, "back.img");
        await WriteRandomImageAsync(source);

        await NbdClients.CopyAsync(source, _server.Uri("vd"));
        await NbdClients.CopyAsync(_server.Uri("vd"), back);

        Assert.Equal(Md5(source), Md5(back));
        _server.AssertNoErrors();
    }

    private static async Task WriteRandomImageAsync(string path)
    {
        var random = new Random(377);
        var chunk = new byte[1 << 20];
        await using var file = File.Create(path);
        for (long written = 0; written < ImageSize; written += chunk.Length)
        {
            random.NextBytes(chunk);
            if (written == 8L << 20) Array.Clear(chunk); // a zero stretch, as real images have
            await file.WriteAsync(chunk);
        }
    }

    private static string Md5(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(MD5.HashData(file));
    }
}
