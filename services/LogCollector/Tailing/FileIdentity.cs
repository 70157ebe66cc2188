using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ZeroDisk.LogCollector.Tailing;

/// <summary>
/// A file's identity on Linux: device and inode. A rotated file keeps it under its new name; a recreated file gets a
/// new one. .NET has no API for it, so this asks libc's fstat/stat. In <c>struct stat</c> st_dev and st_ino are the
/// first two 64-bit fields on x86_64 and on arm64 alike (the layouts differ only further on).
/// </summary>
internal readonly partial record struct FileIdentity(ulong Device, ulong Inode)
{
    private const int StatBufferBytes = 256; // larger than struct stat on every 64-bit Linux

    public static FileIdentity Of(SafeFileHandle handle)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            Span<byte> stat = stackalloc byte[StatBufferBytes];
            if (Native.fstat((int)handle.DangerousGetHandle(), ref MemoryMarshal.GetReference(stat)) != 0)
                throw new IOException($"fstat failed: errno {Marshal.GetLastPInvokeError()}");
            return FromStat(stat);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>The identity of the file at <paramref name="path"/>, or null when it is gone.</summary>
    public static FileIdentity? OfPath(string path)
    {
        Span<byte> stat = stackalloc byte[StatBufferBytes];
        return Native.stat(path, ref MemoryMarshal.GetReference(stat)) == 0 ? FromStat(stat) : null;
    }

    private static FileIdentity FromStat(ReadOnlySpan<byte> stat) =>
        new(MemoryMarshal.Read<ulong>(stat), MemoryMarshal.Read<ulong>(stat[8..]));

    private static partial class Native
    {
        [LibraryImport("libc", SetLastError = true)]
        internal static partial int fstat(int fd, ref byte buf);

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int stat(string path, ref byte buf);
    }
}
