using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using ZeroDisk.Nbd.Security;
using ZeroDisk.Nbd.Transport;

namespace ZeroDisk.Nbd;

/// <summary>
/// An NBD server (fixed newstyle) for the exports of an <see cref="INbdExportCatalog"/>, on any number of TCP
/// endpoints and unix sockets. Each connection runs on its own; a failing client never affects another.
/// </summary>
public sealed class NbdServer : IAsyncDisposable
{
    private readonly INbdExportCatalog _catalog;
    private readonly ILogger _logger;
    private readonly NbdServerOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly List<string> _unixPaths = [];
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly ByteBudget _memory;
    private readonly NbdSecurity _security;
    private int _stopped;
    private int _open;
    private long _refusedLoggedAt;
    private long _refused;

    public NbdServer(INbdExportCatalog catalog, ILogger<NbdServer> logger, NbdServerOptions? options = null)
    {
        _catalog = catalog;
        _logger = logger;
        _options = options ?? new NbdServerOptions();
        if (_options.Problems() is { Count: > 0 } problems) throw new ArgumentException($"NBD server options: {string.Join("; ", problems)}", nameof(options));
        _memory = new ByteBudget(_options.MaxBufferedBytes);
        _security = NbdSecurity.From(_options); // certificates are read here: a bad file fails the start
    }

    /// <summary>Bytes of payloads and unsent replies held by all connections right now.</summary>
    public long BufferedBytes => _memory.Used;

    /// <summary>Connections open right now.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Starts accepting on a TCP endpoint; returns the bound endpoint (useful with port 0).</summary>
    public IPEndPoint ListenTcp(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        Start(socket, bound.ToString());
        return bound;
    }

    /// <summary>Starts accepting on a unix socket at <paramref name="path"/> (a stale socket file is replaced).</summary>
    public void ListenUnix(string path)
    {
        if (File.Exists(path)) File.Delete(path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        lock (_listeners) _unixPaths.Add(path);
        Start(socket, path);
    }

    private void Start(Socket listener, string where)
    {
        lock (_listeners)
        {
            ObjectDisposedException.ThrowIf(_stopped != 0, this);
            _listeners.Add(listener);
            _acceptLoops.Add(AcceptLoopAsync(listener, where));
        }
        _logger.LogInformation("NBD server listening on {Endpoint}", where);
    }

    private async Task AcceptLoopAsync(Socket listener, string where)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // Transient (EMFILE, ECONNABORTED): keep accepting after a breath.
                _logger.LogWarning(e, "NBD accept on {Endpoint} failed", where);
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }
            if (Interlocked.Increment(ref _open) > _options.MaxConnections)
            {
                Interlocked.Decrement(ref _open);
                Refuse(client, where);
                continue;
            }
            _ = Track(RunClientAsync(client));
        }
    }

    /// <summary>Over the connection cap: closed at once (the client sees EOF, not a hang), logged at most every 10 s.</summary>
    private void Refuse(Socket client, string where)
    {
        client.Dispose();
        var refused = Interlocked.Increment(ref _refused);
        var last = Interlocked.Read(ref _refusedLoggedAt);
        if (last != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(last) < TimeSpan.FromSeconds(10)) return;
        if (Interlocked.CompareExchange(ref _refusedLoggedAt, System.Diagnostics.Stopwatch.GetTimestamp(), last) != last) return;
        _logger.LogWarning("NBD connection on {Endpoint} refused: {Max} connections open already ({Refused} refused so far)",
            where, _options.MaxConnections, refused);
    }

    private async Task RunClientAsync(Socket client)
    {
        await Task.Yield(); // never run a client's handshake on the accept loop
        INbdTransport transport;
        try
        {
            transport = new SocketTransport(client);
        }
        catch (Exception e)
        {
            _logger.LogDebug(e, "NBD client socket unusable");
            client.Dispose();
            return;
        }
        await NbdConnection.RunAsync(transport, _catalog, _options, _security, _memory, _logger, _stopping.Token).ConfigureAwait(false);
    }

    /// <summary>Serves one already connected transport (tests drive sessions over in-memory pipes with this).</summary>
    internal Task ServeAsync(INbdTransport transport)
    {
        Interlocked.Increment(ref _open);
        return Track(NbdConnection.RunAsync(transport, _catalog, _options, _security, _memory, _logger, _stopping.Token));
    }

    private Task Track(Task connection)
    {
        _connections[connection] = true;
        _ = connection.ContinueWith(static (t, state) =>
        {
            var server = (NbdServer)state!;
            server._connections.TryRemove(t, out _);
            Interlocked.Decrement(ref server._open);
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return connection;
    }

    /// <summary>Stops listening, ends every connection (in-flight requests see cancellation) and waits for them.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        _stopping.Cancel();
        Task[] loops;
        lock (_listeners)
        {
            foreach (var listener in _listeners) listener.Dispose();
            loops = [.. _acceptLoops];
        }
        await Task.WhenAll(loops).ConfigureAwait(false);
        await Task.WhenAll(_connections.Keys).ConfigureAwait(false);
        foreach (var path in _unixPaths)
        {
            try { File.Delete(path); }
            catch (IOException) { }
        }
        _logger.LogInformation("NBD server stopped");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
