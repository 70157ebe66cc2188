using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>Counts one repair's copied blocks, feeds the metrics and logs done/total and the rate at an interval.</summary>
internal sealed class RepairProgress(RepairKind kind, string vdiskId, string engine, int blockSize, TimeSpan interval, ILogger log)
{
    private readonly Stopwatch _elapsed = Stopwatch.StartNew();
    private readonly KeyValuePair<string, object?>[] _tags = [new("kind", kind.ToWire()), new("vdisk", vdiskId), new("engine", engine)];
    private long _done;
    private TimeSpan _lastLog;

    public long Total { get; set; }
    public long Done => Interlocked.Read(ref _done);

    public void Copied(int blocks, long bytes)
    {
        Interlocked.Add(ref _done, blocks);
        RepairMetrics.BlocksCopied.Add(blocks, _tags);
        RepairMetrics.BytesCopied.Add(bytes, _tags);
        if (_elapsed.Elapsed - _lastLog < interval) return;
        _lastLog = _elapsed.Elapsed;
        Log("progress");
    }

    public double MiBPerSecond => Done * (double)blockSize / (1 << 20) / Math.Max(_elapsed.Elapsed.TotalSeconds, 1e-3);

    public void Log(string what) =>
        log.LogInformation("repair {Kind} of vdisk {Vdisk} for {Engine} {What}: {Done}/{Total} blocks, {Rate:F1} MiB/s, {Elapsed:F1} s",
            kind.ToWire(), vdiskId, engine, what, Done, Total, MiBPerSecond, _elapsed.Elapsed.TotalSeconds);
}
