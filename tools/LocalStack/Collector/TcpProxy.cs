using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ZeroDisk.LocalStack.Collector;

/// <summary>
/// A loopback TCP relay in front of the shared RabbitMQ: cutting it (every connection reset, new ones refused)
/// is a broker outage for whoever connects through it, without touching the broker the other tests use. Stalling it is
/// a broker that neither reads nor answers for a while (a broker stopped or starved on a busy machine): bytes in both
/// directions are kept back, connections stay open, and everything held is delivered in order on resuming.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _connections = new();
    private TcpListener? _listener;
    private CancellationTokenSource? _accepting;
    private volatile TaskCompletionSource _flowing = Open();
    private readonly ConcurrentDictionary<TcpClient, TaskCompletionSource> _wedged = new();

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    public TcpProxy(string targetHost, int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Parse(targetHost == "localhost" ? "127.0.0.1" : targetHost), targetPort);
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
    }

    public int Port { get; }

    public void Start()
    {
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _accepting = new CancellationTokenSource();
        _ = AcceptLoopAsync(_listener, _accepting.Token);
    }

    /// <summary>The outage: stop listening and reset every relayed connection.</summary>
    public void Cut()
    {
        _accepting?.Cancel();
        _listener?.Stop();
        _listener = null;
        foreach (var (client, server) in _connections)
        {
            Reset(client);
            Reset(server);
        }
        _connections.Clear();
        foreach (var wedge in _wedged.Values) wedge.TrySetResult();
        _wedged.Clear();
    }

    /// <summary>From now on, bytes in both directions are kept back; connections stay open.</summary>
    public void Stall()
    {
        if (_flowing.Task.IsCompleted) _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Delivers everything held back, in order, and relays as before.</summary>
    public void Resume() => _flowing.TrySetResult();

    /// <summary>
    /// The connections open now relay nothing more, ever, and stay open; new connections work: a client whose
    /// connection hangs while the broker is fine.
    /// </summary>
    public void WedgeOpenConnections()
    {
        foreach (var client in _connections.Keys) _wedged.TryAdd(client, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    private static void Reset(TcpClient tcp)
    {
        try
        {
            if (tcp.Client is { } socket) socket.LingerState = new LingerOption(true, 0); // RST, like a crashed broker host
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
        }
        tcp.Dispose();
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = RelayAsync(client, cancellationToken);
        }
    }

    private async Task RelayAsync(TcpClient client, CancellationToken cancellationToken)
    {
        var server = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(_target, cancellationToken);
            _connections[client] = server;
            var up = CopyAsync(client, client.GetStream(), server.GetStream(), cancellationToken);
            var down = CopyAsync(client, server.GetStream(), client.GetStream(), cancellationToken);
            await Task.WhenAny(up, down);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            _connections.TryRemove(client, out _);
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task CopyAsync(TcpClient connection, NetworkStream from, NetworkStream to, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        int read;
        while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await _flowing.Task.WaitAsync(cancellationToken);
            if (_wedged.TryGetValue(connection, out var wedge)) await wedge.Task.WaitAsync(cancellationToken);
            await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    public ValueTask DisposeAsync()
    {
        Cut();
        return ValueTask.CompletedTask;
    }
}
