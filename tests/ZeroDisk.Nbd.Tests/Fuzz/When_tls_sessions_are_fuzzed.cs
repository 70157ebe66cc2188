using System.Net;
using ZeroDisk.Nbd.Security;
using ZeroDisk.Nbd.Tests.Support;
using static ZeroDisk.Nbd.Tests.Fuzz.SessionGenerator;
using static ZeroDisk.Nbd.Tests.Support.ClientMessages;

namespace ZeroDisk.Nbd.Tests.Fuzz;

/// <summary>
/// The handshake fuzzed against a server that requires TLS and client certificates, with per-export access
/// (client-a may open only the writable export): plaintext sessions, STARTTLS in every position and with data, and
/// sessions that complete a real TLS handshake and then send mutated options and requests. No unhandled exception,
/// no hang, and the promises hold: nothing reaches an export without TLS, nothing reaches an export the client's
/// certificate is not named for.
/// </summary>
public sealed class When_tls_sessions_are_fuzzed : IDisposable
{
    private readonly TestCertificates _pki = new();
    private readonly NbdServerOptions _options;

    public When_tls_sessions_are_fuzzed()
    {
        var (certificate, key) = _pki.Server();
        _options = new NbdServerOptions
        {
            MaxInFlightPerConnection = 8,
            HandshakeTimeout = TimeSpan.FromSeconds(10),
            Tls = new NbdTlsOptions { Mode = NbdTlsMode.Required, CertificateFile = certificate, KeyFile = key, ClientCaFile = _pki.CaFile },
            Access = new NbdAccessOptions { Enabled = true, Exports = new() { [CheckedExportCatalog.Writable] = "client-a" } },
        };
    }

    public void Dispose() => _pki.Dispose();

    /// <summary>In-memory sessions: their bytes are all there at once, so STARTTLS always finds bytes behind it and closes.</summary>
    [Fact]
    public async Task Plaintext_sessions_never_reach_an_export()
    {
        var runner = new FuzzRunner(NbdSecurity.From(_options));
        var iterations = FuzzRunner.Iterations(20_000);
        for (var i = 0; i < iterations; i++)
        {
            var r = new Random(3_000_000 + i);
            var handshake = Handshake(r, out _);
            if (r.Next(2) == 0) handshake.Insert(1 + r.Next(handshake.Count - 1), Option(OptStartTls, []));
            byte[] input = r.Next(6) switch
            {
                0 => Concat([ClientFlags(), Option(OptStartTls, []), RandomBytes(r, r.Next(0, 300))]),
                1 => Concat([ClientFlags(), Option((uint)r.Next(0, 16), RandomBytes(r, r.Next(0, 64)))]),
                _ => Mutate(r, Concat([.. handshake, .. Requests(r, 4096)])),
            };
            await runner.RunAsync(input, 3_000_000 + i);
        }
        await runner.AssertConsistentAsync();
        Assert.Equal(0, runner.Catalog.WritableExport.Reads + runner.Catalog.WritableExport.Writes);
        Assert.Equal(0, runner.Catalog.ReadOnlyExport.Reads);
    }

    [Fact]
    public async Task Sessions_after_a_real_tls_handshake_reach_only_the_clients_export()
    {
        var catalog = new CheckedExportCatalog();
        var logger = new RecordingLogger<NbdServer>();
        await using var server = new NbdServer(catalog, logger, _options);
        var port = server.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0)).Port;
        using var certificate = _pki.ClientCertificate("client-a");
        var iterations = FuzzRunner.Iterations(150);
        for (var i = 0; i < iterations; i++)
        {
            var r = new Random(4_000_000 + i);
            var handshake = Handshake(r, out var export);
            var afterTls = Concat([.. handshake.Skip(1), .. Requests(r, CheckedExportCatalog.ReadOnlySize)]);
            await using var client = await RawNbdClient.ConnectRawAsync(port);
            await client.SendAsync(ClientFlags());
            Assert.Equal(1u, await client.OptionResultAsync(OptStartTls, []));
            if (r.Next(6) == 0)
            {
                await client.SendAsync(RandomBytes(r, r.Next(1, 400))); // garbage instead of a TLS hello
                continue;
            }
            await client.StartTlsAsync(_pki.CaCertificate, certificate);
            await client.SendAsync(r.Next(3) == 0 ? afterTls : Mutate(r, afterTls));
        }
        // The fuzzed sessions close right after sending, so whether their requests are served before the close is a
        // matter of timing: one well-formed session, waiting for its reply, shows that TLS sessions do reach the export.
        await using (var wellFormed = await RawNbdClient.ConnectRawAsync(port))
        {
            await wellFormed.SendAsync(ClientFlags());
            Assert.Equal(1u, await wellFormed.OptionResultAsync(OptStartTls, []));
            await wellFormed.StartTlsAsync(_pki.CaCertificate, certificate);
            Assert.Equal(1u, await wellFormed.OptionResultAsync(OptGo, InfoRequest(CheckedExportCatalog.Writable)));
            await wellFormed.SendRequestAsync(CmdRead, handle: 7, offset: 0, length: 512);
            Assert.Equal(0u, (await wellFormed.ReadReplyAsync(_ => 512)).Error);
        }
        await server.StopAsync();
        Assert.Empty(logger.Errors);
        Assert.Empty(catalog.Violations);
        Assert.Equal(0, catalog.ReadOnlyExport.Reads); // "ro" is not client-a's: never opened
        Assert.True(catalog.WritableExport.Reads > 0, "the well-formed session's read did not reach client-a's export over TLS");
    }
}
