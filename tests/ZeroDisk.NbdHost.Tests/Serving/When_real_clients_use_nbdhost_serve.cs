using System.Security.Cryptography;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary><c>nbdhost serve</c> as a process, over Redis, driven by the real NBD clients.</summary>
public sealed class When_real_clients_use_nbdhost_serve(ITestOutputHelper output) : ServeProcessTest(output)
{
    [Fact]
    public async Task Nbdinfo_and_qemu_img_see_the_vdisk_with_its_size()
    {
        Assert.Contains(H.VdiskId, await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{Serve.Port}"));
        var info = await NbdClients.InfoAsync(Serve.Uri(H.VdiskId));
        Assert.Equal(1L << 30, info.GetProperty("export-size").GetInt64());
        Assert.True(info.GetProperty("can_multi_conn").GetBoolean());
        Assert.Equal(1L << 30, await NbdClients.QemuVirtualSizeAsync(Serve.Uri(H.VdiskId)));
    }

    [Fact]
    public async Task Qemu_io_writes_land_on_the_right_shard_of_both_sides()
    {
        var uri = Serve.Uri(H.VdiskId);
        await NbdClients.QemuIoAsync(uri, "write -P 0xab 4096 4096", "write -P 0x5c 8192 512", "read -P 0xab 4096 4096", "read -P 0 8704 3584");

        foreach (var engine in new[] { H.Clusters.Primary[1], H.Clusters.Slave[1] })
            Assert.Equal(Enumerable.Repeat((byte)0xab, 4096).ToArray(), (byte[]?)await H.Inspect(engine).HashGetAsync(H.BlocksKey, 1));
        // A 512-byte write is a read-modify-write of block 2 (shard 0): the rest of the block stays zero.
        var block2 = (byte[]?)await H.Inspect(H.Clusters.Slave[0]).HashGetAsync(H.BlocksKey, 2);
        Assert.NotNull(block2);
        Assert.All(block2[..512], b => Assert.Equal(0x5c, b));
        Assert.All(block2[512..], b => Assert.Equal(0, b));
        Assert.False(await H.Inspect(H.Clusters.Primary[0]).HashExistsAsync(H.BlocksKey, 1));
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
            var uri = Serve.Uri(H.VdiskId);
            await NbdClients.CopyAsync(input, uri);
            var output = Path.Combine(dir, "out.img");
            await NbdClients.CopyAsync(uri, output);

            await using var read = File.OpenRead(output);
            Assert.Equal(1L << 30, read.Length);
            var head = new byte[data.Length];
            await read.ReadExactlyAsync(head);
            Assert.Equal(MD5.HashData(data), MD5.HashData(head));
            // 2048 blocks written, 256 of them zero (absent): 896 per shard, on each side.
            Assert.Equal(896, await H.Inspect(H.Clusters.Primary[0]).HashLengthAsync(H.BlocksKey));
            Assert.Equal(896, await H.Inspect(H.Clusters.Slave[1]).HashLengthAsync(H.BlocksKey));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
