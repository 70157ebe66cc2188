using System.Net;
using ZeroDisk.Nbd.Memory;

namespace ZeroDisk.Nbd.Tests.Support;

/// <summary>An <see cref="NbdServer"/> in this process over in-memory exports, on a loopback port and a unix socket.</summary>
public sealed class InMemoryNbdServer : IAsyncDisposable
{
    private InMemoryNbdServer(MemoryExportCatalog catalog, NbdServer server, RecordingLogger<NbdServer> logger, int port, string unixPath)
    {
        Catalog = catalog;
        Server = server;
        Logger = logger;
        Port = port;
        UnixPath = unixPath;
    }

    public MemoryExportCatalog Catalog { get; }
    public NbdServer Server { get; }
    public RecordingLogger<NbdServer> Logger { get; }
    public int Port { get; }
    public string UnixPath { get; }

    public string Uri(string export) => NbdClients.TcpUri(Port, export);

    public string UnixUri(string export) => NbdClients.UnixUri(UnixPath, export);

    /// <summary>Starts a server; <paramref name="configure"/> adds exports to the catalog first.</summary>
    public static InMemoryNbdServer Start(Action<MemoryExportCatalog> configure, INbdExportCatalog? catalogOverride = null, NbdServerOptions? options = null)
    {
        var catalog = new MemoryExportCatalog();
        configure(catalog);
        var logger = new RecordingLogger<NbdServer>();
        var server = new NbdServer(catalogOverride ?? catalog, logger, options);
        var endpoint = server.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        var unixPath = Path.Combine(Path.GetTempPath(), $"zd-nbd-{Guid.NewGuid():N}"[..20] + ".sock");
        server.ListenUnix(unixPath);
        return new InMemoryNbdServer(catalog, server, logger, endpoint.Port, unixPath);
    }

    /// <summary>Fails the test if the server logged an unexpected error.</summary>
    public void AssertNoErrors() => Assert.Empty(Logger.Errors);

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
