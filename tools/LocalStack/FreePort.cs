using System.Net;
using System.Net.Sockets;

namespace ZeroDisk.LocalStack;

public static class FreePort
{
    private static int _cursor = -1;

    /// <summary>
    /// A loopback TCP port nobody listens on right now. With <c>ZD_FREE_PORTS=lo-hi</c> set, one of that range (taken
    /// in turn, so two calls of one process do not hand out the same port), for a process that must stay inside the
    /// ports it was given (the fault checker next to other engineers' stacks); otherwise one the kernel picks.
    /// </summary>
    public static int Next()
    {
        if (Environment.GetEnvironmentVariable("ZD_FREE_PORTS") is { } range && range.Split('-') is [var lo, var hi])
        {
            var (first, last) = (int.Parse(lo, System.Globalization.CultureInfo.InvariantCulture), int.Parse(hi, System.Globalization.CultureInfo.InvariantCulture));
            var size = last - first + 1;
            if (_cursor < 0) Interlocked.CompareExchange(ref _cursor, Random.Shared.Next(size), -1);
            for (var tried = 0; tried < size; tried++)
            {
                var port = first + (int)((uint)Interlocked.Increment(ref _cursor) % (uint)size);
                if (IsFree(port)) return port;
            }
            throw new InvalidOperationException($"no free port in ZD_FREE_PORTS={range}");
        }
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Two neighbouring free ports, <c>p</c> and <c>p + 1</c> (node 1 and node 2 of a drill serve NBD on them). In range
    /// mode the next port handed out in turn would be <c>p + 1</c>, so it is taken here and never handed out again.
    /// </summary>
    public static int NextPair()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Next();
            if (!IsFree(port + 1) && attempt < 50) continue;
            if (Environment.GetEnvironmentVariable("ZD_FREE_PORTS") is not null) Interlocked.Increment(ref _cursor); // skip p + 1
            return port;
        }
    }

    /// <summary>True when a listener can bind <paramref name="port"/> on loopback right now.</summary>
    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
