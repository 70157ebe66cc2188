using System.Diagnostics;
using System.Globalization;
using ZeroDisk.LocalStack;

namespace ZeroDisk.FaultCheck;

/// <summary>One fio job of the second workload: its region, when it ran, and how it ended.</summary>
public sealed record FioChunk(int Index, TimeSpan Started, TimeSpan Ended, int ExitCode, string Output)
{
    /// <summary>fio's crc32c check found bytes other than the ones it wrote: a data violation whatever the faults.</summary>
    public bool VerifyFailed => ExitCode != 0 && FioWorkload.IsVerifyFailure(Output);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"fio chunk {Index} (region {Index * FioWorkload.RegionBytes / 1024} KiB +{FioWorkload.RegionBytes / 1024} KiB): {Started.TotalSeconds:0.0}s-{Ended.TotalSeconds:0.0}s, exit {ExitCode}");
}

/// <summary>
/// The second workload: fio's own NBD engine against a served vdisk, with crc32c verify. fio cannot
/// reconnect, so it runs in chunks: each chunk is one fio job that writes every 4 KiB block of its own 512 KiB region
/// once in a random order (seeded) and then reads them all back and checks their crc32c; the next chunk takes the
/// next region. A chunk that fails its verify is a violation; one that fails with an I/O error is judged as the
/// history's NBD errors are (only a fault that takes every serving side, or the NBD server, may explain it). After
/// the system settles every chunk that passed is verified again (<c>--verify_only</c>, same seed): data fio had
/// seen intact must still be there after the repairs.
/// </summary>
public sealed class FioWorkload(string uri, int seed, Stopwatch clock, Action<string> log)
{
    public const long RegionBytes = 512 << 10;
    private static readonly TimeSpan ChunkTimeout = TimeSpan.FromMinutes(2);
    private readonly List<FioChunk> _chunks = [];

    public IReadOnlyList<FioChunk> Chunks => _chunks;

    public async Task RunAsync(CancellationToken stop)
    {
        for (var index = 0; !stop.IsCancellationRequested; index++)
        {
            var started = clock.Elapsed;
            var result = await ExternalProcess.RunAsync("fio", Args(index, verifyOnly: false), ChunkTimeout);
            var chunk = new FioChunk(index, started, clock.Elapsed, result.ExitCode, Tail(result.StdOut + result.StdErr));
            _chunks.Add(chunk);
            if (result.ExitCode != 0)
            {
                log($"{chunk}: {string.Join(" | ", chunk.Output.Split('\n').Where(l => l.Contains("err", StringComparison.OrdinalIgnoreCase) || l.Contains("verify", StringComparison.OrdinalIgnoreCase)).Take(4))}");
                try { await Task.Delay(1000, stop); }
                catch (OperationCanceledException) { /* stopping */ }
            }
        }
        log($"fio: {_chunks.Count} chunk(s), {_chunks.Count(c => c.ExitCode == 0)} verified");
    }

    /// <summary>After the system settled: every chunk that verified under the faults, read and checked again.</summary>
    public async Task<List<Violation>> VerifyAgainAsync()
    {
        var violations = new List<Violation>();
        foreach (var chunk in _chunks.Where(c => c.ExitCode == 0))
        {
            var result = await ExternalProcess.RunAsync("fio", Args(chunk.Index, verifyOnly: true), ChunkTimeout);
            if (result.ExitCode != 0)
                violations.Add(new Violation($"fio: {chunk} had verified, but reading it again after the system settled failed ({(IsVerifyFailure(result.StdOut + result.StdErr) ? "crc32c mismatch: older data, zeros or foreign bytes" : "I/O error")})",
                    Tail(result.StdOut + result.StdErr).Split('\n').Where(l => l.Length > 0).TakeLast(15).ToList()));
        }
        return violations;
    }

    private List<string> Args(int index, bool verifyOnly)
    {
        var args = new List<string>
        {
            "--name=faultcheck", "--ioengine=nbd", $"--uri={uri}", "--rw=randwrite", "--bs=4k", "--iodepth=4",
            $"--offset={index * RegionBytes}", $"--size={RegionBytes}", $"--randseed={seed * 10_000L + index}",
            "--verify=crc32c", "--verify_fatal=1", "--verify_state_save=0", "--do_verify=1",
        };
        if (verifyOnly) args.Add("--verify_only");
        return args;
    }

    internal static bool IsVerifyFailure(string output) =>
        output.Contains("verify:", StringComparison.OrdinalIgnoreCase) || output.Contains("bad magic", StringComparison.OrdinalIgnoreCase)
        || output.Contains("crc32c", StringComparison.OrdinalIgnoreCase) && output.Contains("fail", StringComparison.OrdinalIgnoreCase);

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;
}
