using System.Diagnostics;

/// <summary>
/// A client writing during a step: one 4 KiB-aligned block at a time, at random among the repaired blocks, about every
/// <see cref="Interval"/>. A repair holds its blocks' locks from a part's read to its SREM, so what a client write
/// waits for is the figure that keeps parts small; this measures it.
/// </summary>
internal sealed class WriteProbe : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(5);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<double> _latenciesMs = [];
    private readonly Task _writing;

    public WriteProbe(ResyncServer h, long blocks) => _writing = Task.Run(() => WriteAsync(h, blocks));

    private async Task WriteAsync(ResyncServer h, long blocks)
    {
        var content = new byte[h.BlockSize];
        while (!_stop.IsCancellationRequested)
        {
            Random.Shared.NextBytes(content);
            var clock = Stopwatch.StartNew();
            await h.Vdisk.WriteAsync(Random.Shared.NextInt64(blocks) * h.BlockSize, content, false, default);
            _latenciesMs.Add(clock.Elapsed.TotalMilliseconds);
            try { await Task.Delay(Interval, _stop.Token); } catch (OperationCanceledException) { }
        }
    }

    /// <summary>Stops writing; "n writes, p50/p99/max ms".</summary>
    public async Task<string> StopAsync()
    {
        await _stop.CancelAsync();
        await _writing;
        if (_latenciesMs.Count == 0) return "no writes";
        _latenciesMs.Sort();
        double At(double q) => _latenciesMs[(int)Math.Min(_latenciesMs.Count - 1, q * _latenciesMs.Count)];
        return FormattableString.Invariant($"{_latenciesMs.Count} writes, p50 {At(0.5):F1} / p99 {At(0.99):F1} / max {_latenciesMs[^1]:F1} ms");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync();
        _stop.Dispose();
    }
}
