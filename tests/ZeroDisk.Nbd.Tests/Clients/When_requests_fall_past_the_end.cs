namespace ZeroDisk.Nbd.Tests.Clients;

/// <summary>Out-of-range reads and writes (sent by nbdsh, which doesn't check bounds itself) fail; the connection lives on.</summary>
public sealed class When_requests_fall_past_the_end : IAsyncLifetime
{
    private InMemoryNbdServer _server = null!;

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(c => c.Add("vd", 1L << 20));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task They_get_errors_and_the_connection_stays_usable()
    {
        await RealClientChecks.PastTheEndAsync(_server.Uri("vd"));
        var data = new byte[4096];
        await _server.Catalog["vd"].ReadAsync((1L << 20) - 8192, data, CancellationToken.None);
        Assert.All(data, b => Assert.Equal(0, b)); // the rejected writes left nothing behind
        _server.AssertNoErrors();
    }
}
