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
        await RealClientChecks.FioVerifyAsync(_server.Uri("vd"), jobs: 1);
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task Four_jobs_on_four_connections_verify()
    {
        await RealClientChecks.FioVerifyAsync(_server.Uri("vd"), jobs: 4);
        _server.AssertNoErrors();
    }
}
