using ZeroDisk.Nbd.Tests.Support;
using ZeroDisk.Testing;

namespace ZeroDisk.Nbd.Tests.Clients;

/// <summary>fio's nbd engine writes 4 KiB blocks at random with crc32c checksums and reads every one back.</summary>
public sealed class When_fio_verifies_random_writes : IAsyncLifetime
{
    private InMemoryNbdServer _server = null!;

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(c => c.Add("vd", 256L << 20));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task One_connection_at_iodepth_16_verifies()
    {
        var report = await NbdClients.FioAsync(_server.Uri("vd"),
            "--rw=randwrite", "--bs=4k", "--iodepth=16", "--size=48m", "--verify=crc32c", "--do_verify=1");
        Assert.Equal(48L << 20, NbdClients.FioBytes(report, "write"));
        Assert.Equal(48L << 20, NbdClients.FioBytes(report, "read")); // the verify pass
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task Four_jobs_on_four_connections_verify()
    {
        var report = await NbdClients.FioAsync(_server.Uri("vd"),
            "--rw=randwrite", "--bs=4k", "--iodepth=16", "--numjobs=4", "--size=16m", "--offset_increment=64m",
            "--verify=crc32c", "--do_verify=1");
        Assert.Equal(4, report.GetProperty("jobs").GetArrayLength());
        Assert.Equal(64L << 20, NbdClients.FioBytes(report, "write"));
        Assert.Equal(64L << 20, NbdClients.FioBytes(report, "read"));
        _server.AssertNoErrors();
    }
}
