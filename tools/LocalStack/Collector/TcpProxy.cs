using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ZeroDisk.LocalStack.Collector;

/// <summary>
/// A loopback TCP relay in front of the shared RabbitMQ: cutting it (every connection reset, new ones refused)
/// is a broker outage for whoever connects through it, without touching the broker the other tests use.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _connections = new();
    private TcpListener? _listener;
    private CancellationTokenSource? _accepting;

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
            var up = client.GetStream().CopyToAsync(server.GetStream(), cancellationToken);
            var down = server.GetStream().CopyToAsync(client.GetStream(), cancellationToken);
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

    public ValueTask DisposeAsync()
    {
        Cut();
        return ValueTask.CompletedTask;
    }
}
