using System.Security.Cryptography;
using ZeroDisk.NbdHost.Tests.Harness;
using ZeroDisk.Testing;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary><c>nbdhost serve</c> as a process, over Redis, driven by the real NBD clients.</summary>
public sealed class When_real_clients_use_nbdhost_serve(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private StorageHarness _h = null!;
    private ServeProcess _serve = null!;

    public async Task InitializeAsync()
    {
        _h = await StorageHarness.StartAsync(shards: 2, inProcessServer: false);
        _serve = await ServeProcess.StartAsync(_h.ServerId, _h.EtcdEndpoints);
    }

    public async Task DisposeAsync()
    {
        await _serve.DisposeAsync();
        foreach (var line in _serve.StdoutLines.Where(l => !l.StartsWith("      ", StringComparison.Ordinal) || l.Contains("Exception"))) output.WriteLine(line);
        await _h.DisposeAsync();
    }

    [Fact]
    public async Task Nbdinfo_and_qemu_img_see_the_vdisk_with_its_size()
    {
        var list = (await ExternalProcess.RunAsync("nbdinfo", ["--list", $"nbd://127.0.0.1:{_serve.Port}"])).EnsureSuccess("nbdinfo --list");
        Assert.Contains(_h.VdiskId, list.StdOut);
        var size = (await ExternalProcess.RunAsync("nbdinfo", ["--size", _serve.Uri(_h.VdiskId)])).EnsureSuccess("nbdinfo --size");
        Assert.Equal((1L << 30).ToString(), size.StdOut.Trim());
        var info = (await ExternalProcess.RunAsync("qemu-img", ["info", "--output=json", _serve.Uri(_h.VdiskId)])).EnsureSuccess("qemu-img info");
        Assert.Contains("\"virtual-size\": 1073741824", info.StdOut);
    }

    [Fact]
    public async Task Qemu_io_writes_land_on_the_right_shard_of_both_sides()
    {
        var uri = _serve.Uri(_h.VdiskId);
        (await ExternalProcess.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0xab 4096 4096", "-c", "write -P 0x5c 8192 512", "-c", "read -P 0xab 4096 4096", uri]))
            .EnsureSuccess("qemu-io write/read");

        foreach (var engine in new[] { _h.Clusters.Primary[1], _h.Clusters.Slave[1] })
            Assert.Equal(Enumerable.Repeat((byte)0xab, 4096).ToArray(), (byte[]?)await _h.Inspect(engine).HashGetAsync(_h.BlocksKey, 1));
        // A 512-byte write is a read-modify-write of block 2 (shard 0): the rest of the block stays zero.
        var block2 = (byte[]?)await _h.Inspect(_h.Clusters.Slave[0]).HashGetAsync(_h.BlocksKey, 2);
        Assert.NotNull(block2);
        Assert.All(block2[..512], b => Assert.Equal(0x5c, b));
        Assert.All(block2[512..], b => Assert.Equal(0, b));
        Assert.False(await _h.Inspect(_h.Clusters.Primary[0]).HashExistsAsync(_h.BlocksKey, 1));
    }

    [Fact]
    public async Task Nbdcopy_round_trips_a_file()
    {
        var dir = Directory.CreateTempSubdirectory("zd-nbdcopy").FullName;
        try
        {
            var input = Path.Combine(dir, "in.img");
            var data = new byte[8 << 20];
            Random.Shared.NextBytes(data);
            Array.Clear(data, 1 << 20, 1 << 20); // a zero megabyte: stored as absent blocks
            await File.WriteAllBytesAsync(input, data);
            var uri = _serve.Uri(_h.VdiskId);
            (await ExternalProcess.RunAsync("nbdcopy", [input, uri])).EnsureSuccess("nbdcopy in");
            var output = Path.Combine(dir, "out.img");
            (await ExternalProcess.RunAsync("nbdcopy", [uri, output], TimeSpan.FromMinutes(2))).EnsureSuccess("nbdcopy out");

            await using var read = File.OpenRead(output);
            Assert.Equal(1L << 30, read.Length);
            var head = new byte[data.Length];
            await read.ReadExactlyAsync(head);
            Assert.Equal(MD5.HashData(data), MD5.HashData(head));
            // 2048 blocks written, 256 of them zero (absent): 896 per shard, on each side.
            Assert.Equal(896, await _h.Inspect(_h.Clusters.Primary[0]).HashLengthAsync(_h.BlocksKey));
            Assert.Equal(896, await _h.Inspect(_h.Clusters.Slave[1]).HashLengthAsync(_h.BlocksKey));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
