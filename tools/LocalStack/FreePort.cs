using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ZeroDisk.LocalStack;

/// <summary>
/// Loopback TCP ports for servers the tests and tools start. A port is handed out only when nobody listens on it and
/// no other process of ours has just been handed it: each one stays reserved by a lock file for a while, long enough
/// for the server it was taken for to bind it (from then on it is not free anyway), so two test hosts running side by
/// side never start servers on the same port, and a long campaign inside a small range can take a port again once its
/// server has gone.
/// </summary>
public static class FreePort
{
    /// <summary>
    /// Below the kernel's ephemeral range (32768 and up): a port the kernel picked for us could be handed out again as
    /// the source port of any outgoing connection before our server binds it, and then the bind fails.
    /// </summary>
    private const string DefaultRange = "10000-22999";

    private static readonly string LockDirectory = Path.Combine(Path.GetTempPath(), "zerodisk-ports");
    private static readonly TimeSpan Reservation = TimeSpan.FromMinutes(2);
    private static int _cursor = -1;

    /// <summary>
    /// A free port from <c>ZD_FREE_PORTS=lo-hi</c> when set (a process that must stay inside the ports it was given:
    /// the fault checker next to other engineers' stacks), otherwise from 10000-22999; taken in turn from a random start.
    /// </summary>
    public static int Next() => Take(1);

    /// <summary>Two neighbouring free ports, <c>p</c> and <c>p + 1</c> (node 1 and node 2 of a drill serve NBD on them).</summary>
    public static int NextPair() => Take(2);

    /// <summary>The file whose lock reserves <paramref name="port"/> among our processes.</summary>
    public static string ReservationFile(int port) => Path.Combine(LockDirectory, port.ToString(CultureInfo.InvariantCulture));

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

    private static int Take(int count)
    {
        var range = Environment.GetEnvironmentVariable("ZD_FREE_PORTS") ?? DefaultRange;
        if (range.Split('-') is not [var lo, var hi]
            || !int.TryParse(lo, NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !int.TryParse(hi, NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            || first < 1 || last > 65535 || last - first + 1 < count)
            throw new InvalidOperationException($"ZD_FREE_PORTS={range} is not a port range like 27110-27198");
        var size = last - first + 1;
        if (_cursor < 0) Interlocked.CompareExchange(ref _cursor, Random.Shared.Next(size), -1);
        for (var tried = 0; tried < size; tried++)
        {
            var port = first + (int)((uint)Interlocked.Increment(ref _cursor) % (uint)size);
            if (port + count - 1 > last) continue;
            if (TryReserve(port, count)) return port;
        }
        throw new InvalidOperationException($"no {(count == 1 ? "free port" : $"{count} neighbouring free ports")} in {range}");
    }

    private static bool TryReserve(int port, int count)
    {
        var locks = new List<FileStream>(count);
        for (var p = port; p < port + count; p++)
        {
            var held = TryLock(p);
            if (held is null || !IsFree(p))
            {
                held?.Dispose();
                locks.ForEach(l => l.Dispose());
                return false;
            }
            locks.Add(held);
        }
        _ = ReleaseLaterAsync(locks);
        return true;
    }

    private static async Task ReleaseLaterAsync(List<FileStream> locks)
    {
        await Task.Delay(Reservation).ConfigureAwait(false);
        locks.ForEach(l => l.Dispose());
    }

    /// <summary>
    /// An exclusive lock on the port's file (.NET takes an advisory flock for FileShare.None on Unix, and the kernel
    /// drops it when the process exits, however it exits).
    /// </summary>
    private static FileStream? TryLock(int port)
    {
        try
        {
            Directory.CreateDirectory(LockDirectory);
            return new FileStream(ReservationFile(port), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
