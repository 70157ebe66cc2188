namespace ZeroDisk.Testing;

/// <summary>
/// The real-client checks of the data plane, one method each, run against any NBD export: the in-memory
/// backend (ZeroDisk.Nbd.Tests) and <c>nbdhost serve</c> over Redis (ZeroDisk.NbdHost.Tests) run the same ones.
/// Each throws (qemu-io, fio, nbdsh and md5 failures alike) when the export gets it wrong.
/// </summary>
public static class RealClientChecks
{
    /// <summary>qemu-io patterns, flush, discard, write-zeroes and FUA, each read back, in the first 2 MiB.</summary>
    public static Task PatternsFlushDiscardAndWriteZeroesAsync(string uri) =>
        NbdClients.QemuIoAsync(uri,
            "write -P 0xab 0 64k", "read -P 0xab 0 64k", "flush",
            "write -P 0xcd 64k 64k", "discard 0 64k", "read -P 0 0 64k", "read -P 0xcd 64k 64k",
            "write -P 0xee 200k 8k", "write -z 200k 4k", "read -P 0 200k 4k", "read -P 0xee 204k 4k",
            "write -f -P 0x11 1M 4k", "read -P 0x11 1M 4k");

    /// <summary>One 32 MiB write and one 32 MiB read (the largest request the server advertises) at <paramref name="offset"/>.</summary>
    public static Task SingleLargestRequestAsync(string uri, long offset) =>
        NbdClients.QemuIoAsync(uri, $"write -P 1 {offset} 32M", $"read -P 1 {offset} 32M");

    /// <summary>Fills 128 MiB at <paramref name="offset"/>; <paramref name="filled"/> checks the backend holds it.</summary>
    public static async Task WriteZeroes128MiBAsync(string uri, long offset, Func<Task> filled, Func<Task> zeroed)
    {
        await NbdClients.QemuIoAsync(uri, $"write -P 0x77 {offset} 128M");
        await filled();
        await NbdClients.QemuIoAsync(uri, $"write -z {offset} 128M", $"read -P 0 {offset} 128M");
        await zeroed();
    }

    /// <summary>fio 4 KiB random writes with crc32c and the verify pass: one connection at QD16, or 4 jobs on 4 connections.</summary>
    public static async Task FioVerifyAsync(string uri, int jobs)
    {
        var perJob = jobs == 1 ? 48L << 20 : 16L << 20;
        var report = await NbdClients.FioAsync(uri,
            "--rw=randwrite", "--bs=4k", "--iodepth=16", $"--numjobs={jobs}", $"--size={NbdClients.Size(perJob)}", "--offset_increment=64m",
            "--verify=crc32c", "--do_verify=1");
        if (report.GetProperty("jobs").GetArrayLength() != jobs)
            throw new InvalidOperationException($"fio ran {report.GetProperty("jobs").GetArrayLength()} jobs, not {jobs}");
        var written = NbdClients.FioBytes(report, "write");
        var verified = NbdClients.FioBytes(report, "read");
        if (written != jobs * perJob || verified != jobs * perJob)
            throw new InvalidOperationException($"fio wrote {written} and verified {verified} bytes, expected {jobs * perJob} each");
    }

    /// <summary>
    /// Out-of-range reads and writes (sent by nbdsh with libnbd's own bounds check off) get the protocol's errors, and
    /// the connection keeps working. Returns nbdsh's output.
    /// </summary>
    public static async Task<string> PastTheEndAsync(string uri)
    {
        const string script = """
import errno
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_BOUNDS)
size = h.get_size()
def fails(f, *a):
    try:
        f(*a)
    except nbd.Error as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return "ok"
print("read-past", fails(h.pread, 4096, size - 2048))
print("write-past", fails(h.pwrite, b"x" * 4096, size - 2048))
print("write-beyond", fails(h.pwrite, b"x" * 512, size + 4096))
print("zero-past", fails(h.zero, 8192, size - 4096))
print("trim-past", fails(h.trim, 8192, size - 4096))
print("untouched", h.pread(8192, size - 8192) == bytes(8192))
h.pwrite(b"\xab" * 4096, size - 4096)
print("tail", h.pread(4096, size - 4096) == b"\xab" * 4096)
""";
        var output = await NbdClients.NbdShAsync(uri, script);
        foreach (var expected in new[] { "read-past EINVAL", "write-past ENOSPC", "write-beyond ENOSPC", "zero-past ENOSPC", "trim-past EINVAL", "untouched True", "tail True" })
            if (!output.Contains(expected, StringComparison.Ordinal))
                throw new InvalidOperationException($"nbdsh past-the-end checks: expected \"{expected}\" in:\n{output}");
        return output;
    }

    /// <summary>
    /// nbdcopy of a random <paramref name="imageSize"/> image (with a zero stretch) in and out: equal md5 over the
    /// image's length (the export may be larger).
    /// </summary>
    public static async Task NbdcopyRoundTripAsync(string uri, long imageSize)
    {
        var directory = Directory.CreateTempSubdirectory("zd-nbdcopy").FullName;
        try
        {
            var source = Path.Combine(directory, "source.img");
            var back = Path.Combine(directory, "back.img");
            await WriteRandomImageAsync(source, imageSize);
            await NbdClients.CopyAsync(source, uri);
            await NbdClients.CopyAsync(uri, back);
            var expected = FileHashes.Md5(source);
            var actual = FileHashes.Md5Prefix(back, imageSize);
            if (expected != actual) throw new InvalidOperationException($"nbdcopy round trip: md5 {actual}, wrote {expected}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task WriteRandomImageAsync(string path, long size)
    {
        var random = new Random(377);
        var chunk = new byte[1 << 20];
        await using var file = File.Create(path);
        for (long written = 0; written < size; written += chunk.Length)
        {
            random.NextBytes(chunk);
            if (written == 8L << 20) Array.Clear(chunk); // a zero stretch, as real images have
            await file.WriteAsync(chunk);
        }
    }
}
