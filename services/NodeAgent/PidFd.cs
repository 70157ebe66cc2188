using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ZeroDisk.NodeAgent;

/// <summary>
/// A Linux pidfd: a handle on a process that becomes readable when the process exits. Unlike waitpid it works for
/// processes that are not our children, which is what lets a restarted agent notice the exit of children it adopted.
/// </summary>
internal sealed partial class PidFd : IDisposable
{
    private const short PollIn = 0x001;
    private const int Esrch = 3;
    private int _fd;

    private PidFd(int fd) => _fd = fd;

    /// <summary>A pidfd for <paramref name="pid"/>, or null when no such process exists any more.</summary>
    public static PidFd? Open(int pid)
    {
        var fd = pidfd_open(pid, 0);
        if (fd >= 0) return new PidFd(fd);
        var errno = Marshal.GetLastPInvokeError();
        return errno == Esrch ? null : throw new Win32Exception(errno, $"pidfd_open({pid}) failed");
    }

    /// <summary>Blocks the calling (dedicated) thread until the process exits or <paramref name="ct"/> fires; true on exit.</summary>
    public bool WaitForExit(CancellationToken ct)
    {
        var poll = new PollFd { Fd = _fd, Events = PollIn };
        while (!ct.IsCancellationRequested)
        {
            // A short timeout only to look at the cancellation token; the exit itself wakes poll at once.
            var ready = Poll(ref poll, 1, 250);
            if (ready > 0) return true;
            if (ready < 0 && Marshal.GetLastPInvokeError() != 4 /* EINTR */)
                throw new Win32Exception(Marshal.GetLastPInvokeError(), "poll on a pidfd failed");
        }
        return false;
    }

    /// <summary>Sends a signal to exactly this process (never to a later process that reused its pid).</summary>
    public void Signal(int signal)
    {
        var fd = _fd;
        if (fd < 0) return; // already reaped and closed
        if (pidfd_send_signal(fd, signal, 0, 0) < 0 && Marshal.GetLastPInvokeError() != Esrch)
            throw new Win32Exception(Marshal.GetLastPInvokeError(), $"pidfd_send_signal({signal}) failed");
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) close(fd);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pidfd_open(int pid, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pidfd_send_signal(int pidfd, int sig, nint info, uint flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
