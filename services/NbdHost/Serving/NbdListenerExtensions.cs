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
    /// The NBD protocol server (ZeroDisk.Nbd) over the vdisk catalog, on the TCP and/or unix address given; it listens
    /// once the first etcd read is applied, so the first client already sees the exports.
    /// </summary>
    public static IHostApplicationBuilder AddNbdListener(this IHostApplicationBuilder builder, ServeOptions serve)
    {
        builder.Services.AddSingleton<INbdExportCatalog>(sp => sp.GetRequiredService<VdiskCatalog>());
        builder.Services.AddSingleton<INbdExportsReady, FirstEtcdRead>();
        return builder.AddNbdListener(new NbdListenAddresses(serve.Listen, serve.UnixSocket));
    }

    /// <summary>
    /// The NBD protocol server over the <see cref="INbdExportCatalog"/> registered, on <paramref name="addresses"/>.
    /// Its limits come from the <c>Nbd</c> section (e.g. <c>Nbd__MaxConnections=64</c>,
    /// <c>Nbd__MaxBufferedBytes=268435456</c>, <c>Nbd__HandshakeIdleTimeout=00:00:05</c>) and are checked at start.
    /// </summary>
    public static IHostApplicationBuilder AddNbdListener(this IHostApplicationBuilder builder, NbdListenAddresses addresses)
    {
        builder.Services.AddValidatedOptions<NbdServerOptions>(NbdServerOptions.Section);
        builder.Services.AddSingleton(addresses);
        builder.Services.AddHostedService<NbdListener>();
        return builder;
    }
}

/// <summary>Where an NBD server listens: a TCP address (host:port), a unix socket, or both.</summary>
public sealed record NbdListenAddresses(string? Tcp, string? UnixSocket);

/// <summary>What the listener waits for before it listens (none: it listens at once).</summary>
public interface INbdExportsReady
{
    Task WaitAsync(CancellationToken ct);
}

internal sealed class FirstEtcdRead(ServerConfigWatcher config) : INbdExportsReady
{
    public Task WaitAsync(CancellationToken ct) => config.FirstLoad.WaitAsync(ct);
}

/// <summary>
/// Starts listening once every <see cref="INbdExportsReady"/> is and prints where it listens on stdout
/// (<c>listening nbd://127.0.0.1:10809</c>), which scripts and tests wait for.
/// </summary>
internal sealed class NbdListener(NbdListenAddresses addresses, INbdExportCatalog catalog, IEnumerable<INbdExportsReady> ready,
    IOptions<NbdServerOptions> options, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private NbdServer? _server;

    public async Task StartAsync(CancellationToken ct)
    {
        foreach (var gate in ready) await gate.WaitAsync(ct);
        _server = new NbdServer(catalog, loggers.CreateLogger<NbdServer>(), options.Value);
        if (addresses.Tcp is not null)
        {
            if (!IPEndPoint.TryParse(addresses.Tcp, out var endpoint))
                throw new ArgumentException($"--listen {addresses.Tcp}: expected host:port");
            var bound = _server.ListenTcp(endpoint);
            Console.Out.WriteLine($"listening nbd://{bound}");
        }
        if (addresses.UnixSocket is not null)
        {
            _server.ListenUnix(addresses.UnixSocket);
            Console.Out.WriteLine($"listening nbd+unix:///?socket={addresses.UnixSocket}");
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
