namespace ZeroDisk.Nbd.Tests.Clients;

/// <summary>nbdcopy (many connections, 32 MiB-ish requests, block status) copies an image in and out unchanged.</summary>
public sealed class When_nbdcopy_round_trips_an_image : IAsyncLifetime
{
    private const long ImageSize = 256L << 20;
    private InMemoryNbdServer _server = null!;

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(c => c.Add("vd", ImageSize));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_256_MiB_random_image_comes_back_with_the_same_md5()
    {
        await RealClientChecks.NbdcopyRoundTripAsync(_server.Uri("vd"), ImageSize);
        _server.AssertNoErrors();
    }
}
