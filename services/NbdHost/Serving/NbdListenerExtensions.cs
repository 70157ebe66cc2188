using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZeroDisk.Nbd;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.NbdHost.Serving;

public static class NbdListenerExtensions
{
    /// <summary>
    /// The NBD protocol server (ZeroDisk.Nbd) over the vdisk catalog, on the TCP and/or unix address given. Its limits
    /// come from the <c>Nbd</c> section (e.g. <c>Nbd__MaxConnections=64</c>, <c>Nbd__MaxBufferedBytes=268435456</c>,
    /// <c>Nbd__HandshakeIdleTimeout=00:00:05</c>) and are checked at start.
    /// </summary>
    public static IHostApplicationBuilder AddNbdListener(this IHostApplicationBuilder builder, ServeOptions serve)
    {
        builder.Services.AddValidatedOptions<NbdServerOptions>(NbdServerOptions.Section);
        builder.Services.AddHostedService<NbdListener>();
        return builder;
    }
}

/// <summary>
/// Starts listening once the first etcd read is applied (so the first client already sees the exports) and prints
/// where it listens on stdout (<c>listening nbd://127.0.0.1:10809</c>), which scripts and tests wait for.
/// </summary>
internal sealed class NbdListener(ServeOptions serve, VdiskCatalog catalog, ServerConfigWatcher config, IOptions<NbdServerOptions> options, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private NbdServer? _server;

    public async Task StartAsync(CancellationToken ct)
    {
        await config.FirstLoad.WaitAsync(ct);
        _server = new NbdServer(catalog, loggers.CreateLogger<NbdServer>(), options.Value);
        if (serve.Listen is not null)
        {
            if (!IPEndPoint.TryParse(serve.Listen, out var endpoint))
                throw new ArgumentException($"--listen {serve.Listen}: expected host:port");
            var bound = _server.ListenTcp(endpoint);
            Console.Out.WriteLine($"listening nbd://{bound}");
        }
        if (serve.UnixSocket is not null)
        {
            _server.ListenUnix(serve.UnixSocket);
            Console.Out.WriteLine($"listening nbd+unix:///?socket={serve.UnixSocket}");
        }
        await Console.Out.FlushAsync(ct);
    }

    public async Task StopAsync(CancellationToken ct)
    {
        if (_server is not null) await _server.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
