using ZeroDisk.Nbd.Tests.Support;
using static ZeroDisk.Nbd.Tests.Support.ClientMessages;

namespace ZeroDisk.Nbd.Tests.Tls;

/// <summary>
/// proto.md FORCEDTLS, byte for byte: before STARTTLS every option but STARTTLS and ABORT is answered
/// NBD_REP_ERR_TLS_REQD and NBD_OPT_EXPORT_NAME closes; STARTTLS with data or a second time is invalid; plaintext sent
/// behind STARTTLS before its acknowledgement closes the connection (it must never be read as if it came over TLS).
/// </summary>
public sealed class When_tls_is_required_before_haggling : IAsyncLifetime
{
    private const uint Ack = 1, Server = 2, ErrUnsup = 0x80000001, ErrInvalid = 0x80000003, ErrTlsReqd = 0x80000005, ErrUnknown = 0x80000006;
    private TlsNbdServer _tls = null!;

    public Task InitializeAsync()
    {
        _tls = TlsNbdServer.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _tls.DisposeAsync();

    private async Task<RawNbdClient> HaggleAsync()
    {
        var client = await RawNbdClient.ConnectRawAsync(_tls.Port);
        await client.SendAsync(ClientFlags());
        return client;
    }

    [Fact]
    public async Task Every_option_but_starttls_and_abort_is_answered_tls_required()
    {
        await using var client = await HaggleAsync();
        Assert.Equal(ErrTlsReqd, await client.OptionResultAsync(OptList, []));
        Assert.Equal(ErrTlsReqd, await client.OptionResultAsync(OptInfo, InfoRequest("vd-a")));
        Assert.Equal(ErrTlsReqd, await client.OptionResultAsync(OptGo, InfoRequest("vd-a")));
        Assert.Equal(ErrTlsReqd, await client.OptionResultAsync(OptStructuredReply, []));
        Assert.Equal(ErrTlsReqd, await client.OptionResultAsync(OptListMetaContext, MetaContextRequest("vd-a", "base:")));
        Assert.Equal(ErrTlsReqd, await client.OptionResultAsync(42, [1, 2, 3]));
        Assert.Equal(ErrInvalid, await client.OptionResultAsync(OptStartTls, [0])); // STARTTLS carries no data

        Assert.Equal(Ack, await client.OptionResultAsync(OptStartTls, []));
        await client.StartTlsAsync(_tls.Pki.CaCertificate, _tls.Pki.ClientCertificate("client-a"));
        var listed = await client.OptionAsync(OptList, []);
        Assert.Equal(Ack, listed[^1].Type);
        Assert.Equal(["vd-a"], listed.Where(r => r.Type == Server).Select(r => System.Text.Encoding.UTF8.GetString(r.Data[4..])).ToArray());
        Assert.Equal(ErrInvalid, await client.OptionResultAsync(OptStartTls, [])); // TLS is on already
        Assert.Equal(ErrUnknown, await client.OptionResultAsync(OptInfo, InfoRequest("vd-b"))); // not this client's
        Assert.Equal(ErrUnknown, await client.OptionResultAsync(OptListMetaContext, MetaContextRequest("vd-b", "base:")));
        Assert.Equal(Ack, await client.OptionResultAsync(OptGo, InfoRequest("vd-a")));

        await client.SendRequestAsync(CmdWrite, 7, 4096, 3, payload: [1, 2, 3]);
        var written = await client.ReadReplyAsync();
        Assert.Equal((0u, 7ul), (written.Error, written.Handle));
        await client.SendRequestAsync(CmdRead, 8, 4096, 3);
        var read = await client.ReadReplyAsync(_ => 3);
        Assert.Equal(new byte[] { 1, 2, 3 }, read.Data);
        _tls.Server.AssertNoErrors();
    }

    [Fact]
    public async Task Export_name_before_tls_closes_the_connection()
    {
        await using var client = await HaggleAsync();
        await client.SendAsync(Option(OptExportName, "vd-a"u8));
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(30)));
        _tls.Server.AssertNoErrors();
    }

    [Fact]
    public async Task Abort_before_tls_is_acknowledged()
    {
        await using var client = await HaggleAsync();
        Assert.Equal(Ack, await client.OptionResultAsync(OptAbort, []));
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Plaintext_sent_behind_starttls_closes_the_connection()
    {
        await using var client = await HaggleAsync();
        await client.SendAsync([.. Option(OptStartTls, []), .. Option(OptGo, InfoRequest("vd-a"))]);
        Assert.True(await client.ClosedByServerAsync(TimeSpan.FromSeconds(30)));
        _tls.Server.AssertNoErrors();
    }

    [Fact]
    public async Task A_client_certificate_of_another_ca_or_none_ends_the_connection()
    {
        foreach (var certificate in new[] { _tls.Foreign.ClientCertificate("client-a"), null })
        {
            await using var client = await HaggleAsync();
            Assert.Equal(Ack, await client.OptionResultAsync(OptStartTls, []));
            // TLS 1.2 fails the handshake itself; TLS 1.3 lets the client finish and the server then closes.
            var refused = await Record.ExceptionAsync(async () =>
            {
                await client.StartTlsAsync(_tls.Pki.CaCertificate, certificate);
                await client.OptionAsync(OptList, []);
            });
            Assert.NotNull(refused);
        }
        _tls.Server.AssertNoErrors();
    }

    [Fact]
    public async Task Without_tls_configured_starttls_is_unsupported()
    {
        await using var plain = InMemoryNbdServer.Start(c => c.Add("vd", 1L << 20));
        await using var client = await RawNbdClient.ConnectRawAsync(plain.Port);
        await client.SendAsync(ClientFlags());
        Assert.Equal(ErrUnsup, await client.OptionResultAsync(OptStartTls, []));
        Assert.Equal(Ack, await client.OptionResultAsync(OptList, []));
    }
}
