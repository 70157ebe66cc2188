using ZeroDisk.Nbd.Tests.Support;

namespace ZeroDisk.Nbd.Tests.Tls;

[CollectionDefinition(nameof(TlsAllocationMeasurement), DisableParallelization = true)]
public sealed class TlsAllocationMeasurement;

/// <summary>
/// After the TLS handshake a request costs the server no allocation: nbdsh (another process, so its allocations are not
/// counted) sends 4 KiB writes and reads over TLS in sessions of two lengths, and the difference of the whole
/// process's allocated bytes, per request, must stay under a few bytes. Runs alone (no other test allocating meanwhile).
/// </summary>
[Collection(nameof(TlsAllocationMeasurement))]
public sealed class When_tls_requests_are_served(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private TlsNbdServer _tls = null!;
    private string _client = null!;

    public Task InitializeAsync()
    {
        _tls = TlsNbdServer.Start();
        _client = _tls.Pki.Client("client-a");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _tls.DisposeAsync();

    private string? _plainUri;

    private async Task<long> AllocatedDuringAsync(int iterations)
    {
        // nbdsh -u refuses a URI that names local files (tls-certificates=) unless the handle allows it first.
        var script = $"h.set_uri_allow_local_file(True)\nh.connect_uri('{_plainUri ?? _tls.TlsUri("vd-a", _client)}')\n"
            + $"buf = b'\\x5a' * 4096\nfor i in range({iterations}):\n    h.pwrite(buf, (i % 64) * 4096)\n    assert h.pread(4096, (i % 64) * 4096) == buf\n";
        var before = GC.GetTotalAllocatedBytes(precise: true);
        (await ExternalProcess.RunAsync("nbdsh", ["-c", script], TimeSpan.FromMinutes(2),
            new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin:" + Environment.GetEnvironmentVariable("PATH") })).EnsureSuccess("nbdsh");
        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_request_allocates_nothing_after_the_handshake(bool tls)
    {
        await using var plain = tls ? null : InMemoryNbdServer.Start(c => c.Add("vd-a", TlsNbdServer.Size));
        _plainUri = plain?.Uri("vd-a");
        await AllocatedDuringAsync(500); // warm up: JIT, pools, TLS session caches
        long shortCost = long.MaxValue, longCost = long.MaxValue;
        for (var run = 0; run < 3; run++) // the least of each: a one-off (a pool growing) lands in one run at most
        {
            shortCost = Math.Min(shortCost, await AllocatedDuringAsync(500));
            longCost = Math.Min(longCost, await AllocatedDuringAsync(5500));
        }
        var perRequest = (double)(longCost - shortCost) / (2 * 5000);
        output.WriteLine($"tls {tls}: {perRequest:F1} bytes per request (short session {shortCost} B, long {longCost} B)");
        Assert.True(perRequest < 16, $"{perRequest:F1} bytes allocated per request over TLS (short session {shortCost} B, long {longCost} B)");
        _tls.Server.AssertNoErrors();
    }
}
