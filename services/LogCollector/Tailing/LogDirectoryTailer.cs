using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.LogCollector.Checkpoints;
using ZeroDisk.LogCollector.Hosting;
using ZeroDisk.LogCollector.Publishing;
using ZeroDisk.LogCollector.Telemetry;

namespace ZeroDisk.LogCollector.Tailing;

/// <summary>
/// Tails every file of the node's log directory. inotify (FileSystemWatcher) wakes the loop; a periodic rescan is the
/// safety net for missed events. Each pass reads new lines from the files (round robin, up to MaxInFlight messages
/// in all, so one huge backlog does not starve the others), publishes them all concurrently, waits for every
/// confirm, and only then moves those files' checkpoints. Nothing is read ahead of an unconfirmed pass: the files
/// themselves are the backlog.
/// </summary>
internal sealed class LogDirectoryTailer(
    LogCollectorOptions options,
    CheckpointStore checkpoints,
    LineClassifier classifier,
    ConfirmedPublisher publisher,
    ILogger<LogDirectoryTailer> logger) : BackgroundService
{
    private readonly Dictionary<FileIdentity, TailedFile> _files = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly List<TailedFile> _pass = [];
    private int _nextFirst; // round robin: which file reads first in the next pass
    private Dictionary<FileIdentity, StreamCheckpoint> _unclaimed = [];
    private int _rescanRequested = 1;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Directory.CreateDirectory(options.Directory);
        _unclaimed = checkpoints.Load().ToDictionary(c => new FileIdentity(c.Device, c.Inode));
        using var watcher = StartWatcher();
        logger.LogInformation("Tailing {Directory} as node {Node} (checkpoint {Checkpoint}, {Resumed} streams to resume, inotify {Watching})",
            options.Directory, options.Node, checkpoints.Path, _unclaimed.Count, watcher is not null);
        var lastScan = DateTime.MinValue;
        var firstScan = true;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                _wake.Reader.TryRead(out _);
                if (Interlocked.Exchange(ref _rescanRequested, 0) == 1 || DateTime.UtcNow - lastScan >= options.RescanInterval)
                {
                    Scan(firstScan);
                    firstScan = false;
                    lastScan = DateTime.UtcNow;
                }
                if (!await PumpAllAsync(stoppingToken))
                    await Task.WhenAny(_wake.Reader.WaitToReadAsync(stoppingToken).AsTask(), Task.Delay(options.RescanInterval, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var file in _files.Values) file.Dispose();
            _files.Clear();
        }
    }

    private FileSystemWatcher? StartWatcher()
    {
        try
        {
            var watcher = new FileSystemWatcher(options.Directory)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                IncludeSubdirectories = false,
            };
            // Hidden files (our own checkpoint, replaced after every pass) must not wake the loop.
            watcher.Changed += (_, e) => { if (!IsHidden(e.Name)) Wake(); };
            watcher.Created += (_, e) => { if (!IsHidden(e.Name)) Rescan(); };
            watcher.Deleted += (_, e) => { if (!IsHidden(e.Name)) Rescan(); };
            watcher.Renamed += (_, e) => { if (!IsHidden(e.Name) || !IsHidden(e.OldName)) Rescan(); };
            watcher.Error += (_, e) =>
            {
                logger.LogWarning(e.GetException(), "inotify overflowed or failed; rescanning {Directory}", options.Directory);
                Rescan();
            };
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is IOException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            logger.LogWarning(ex, "No inotify watch on {Directory}; polling every {Interval}", options.Directory, options.RescanInterval);
            return null;
        }
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private static bool IsHidden(string? name) => name is null || name.StartsWith('.');

    private void Rescan()
    {
        Volatile.Write(ref _rescanRequested, 1);
        Wake();
    }

    /// <summary>Finds new files (resuming those the checkpoint knows), follows renames by inode, notices unlinks.</summary>
    private void Scan(bool firstScan)
    {
        var changed = false;
        var present = new HashSet<FileIdentity>();
        foreach (var path in Directory.EnumerateFiles(options.Directory))
        {
            if (IsHidden(Path.GetFileName(path))) continue; // the checkpoint and other hidden files
            if (FileIdentity.OfPath(path) is not { } identity) continue; // gone since the listing
            present.Add(identity);
            if (_files.TryGetValue(identity, out var known))
            {
                if (known.Origin.Path != path)
                {
                    logger.LogInformation("Stream {Stream} renamed to {Path} (rotation); still reading it", known.Origin.Stream, path);
                    known.Renamed(path);
                }
                known.InDirectory = true;
                continue;
            }
            changed |= TryOpen(path);
        }
        foreach (var file in _files.Values)
            if (!present.Contains(file.Identity)) file.InDirectory = false;
        if (firstScan && _unclaimed.Count > 0)
        {
            // Files deleted while the collector was down: whatever they held past the checkpoint is gone.
            foreach (var lost in _unclaimed.Values)
                logger.LogWarning("Stream {Stream} (inode {Inode}) from the checkpoint is gone; forgetting it", lost.Stream, lost.Inode);
            _unclaimed.Clear();
            changed = true;
        }
        if (changed) SaveCheckpoint();
    }

    private bool TryOpen(string path)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            logger.LogDebug(ex, "Could not open {Path}; next scan retries", path);
            return false;
        }
        var identity = FileIdentity.Of(handle); // of what was opened, not of what the name meant a moment ago
        if (_files.ContainsKey(identity))
        {
            handle.Dispose();
            return false;
        }
        _unclaimed.Remove(identity, out var resume);
        var file = new TailedFile(options.Node, path, handle, identity, resume, options.MaxLineBytes, options.ReadChunkBytes, options.MaxBatchBytes);
        _files.Add(identity, file);
        if (resume is not null && RandomAccess.GetLength(handle) < resume.Offset)
            MarkTruncated(file);
        logger.LogInformation("Tailing {Path} as stream {Stream} from offset {Offset} (inode {Inode}, generation {Generation})",
            path, file.Origin.Stream, file.CommittedOffset, identity.Inode, file.Origin.Generation);
        return true;
    }

    private void MarkTruncated(TailedFile file)
    {
        file.Truncated();
        CollectorTelemetry.Truncations.Add(1, CollectorTelemetry.StreamTags(options.Node, file.Origin.Stream));
        logger.LogWarning("Stream {Stream} ({Path}) was truncated; reading it again from offset 0 as generation {Generation}",
            file.Origin.Stream, file.Origin.Path, file.Origin.Generation);
    }

    /// <summary>One pass: read, publish, confirm, checkpoint. True when anything was read or published.</summary>
    private async Task<bool> PumpAllAsync(CancellationToken cancellationToken)
    {
        var progress = false;
        var budget = options.MaxInFlight;
        List<TailedFile>? drained = null;
        var files = _files.Values.ToArray();
        _pass.Clear();
        for (var i = 0; i < files.Length && budget > 0; i++)
        {
            var file = files[(_nextFirst + i) % files.Length];
            bool read;
            try
            {
                read = await FillBatchAsync(file, budget, cancellationToken);
            }
            catch (IOException ex)
            {
                logger.LogWarning(ex, "Reading {Path} failed; retrying on the next pass", file.Origin.Path);
                continue;
            }
            if (file.Batch.ConsumedAny)
            {
                _pass.Add(file);
                budget -= file.Batch.Messages.Count;
            }
            progress |= read || file.Batch.ConsumedAny;
            if (!read && !file.Batch.ConsumedAny && !file.InDirectory) (drained ??= []).Add(file);
        }
        _nextFirst = files.Length == 0 ? 0 : (_nextFirst + 1) % files.Length;

        if (_pass.Count > 0)
        {
            await PublishPassAsync(cancellationToken);
            foreach (var file in _pass)
            {
                file.CommittedOffset = file.Batch.EndOffset;
                file.Batch.Clear();
                file.Splitter.ReleaseIfEmpty();
            }
        }
        if (drained is not null)
        {
            foreach (var file in drained)
            {
                logger.LogInformation("Stream {Stream} ({Path}) was removed and is read to its end; forgetting it", file.Origin.Stream, file.Origin.Path);
                _files.Remove(file.Identity);
                file.Dispose();
            }
        }
        if (_pass.Count > 0 || drained is not null) SaveCheckpoint();
        return progress;
    }

    private Task PublishPassAsync(CancellationToken cancellationToken)
    {
        if (_pass.Count == 1) return publisher.PublishAllAsync(_pass[0].Batch.Messages, options.Node, cancellationToken);
        var all = new List<OutgoingMessage>(options.MaxInFlight);
        foreach (var file in _pass) all.AddRange(file.Batch.Messages);
        return publisher.PublishAllAsync(all, options.Node, cancellationToken);
    }

    /// <summary>Reads the file's new complete lines into its batch (at most <paramref name="budget"/> messages); true when bytes were read.</summary>
    private async Task<bool> FillBatchAsync(TailedFile file, int budget, CancellationToken cancellationToken)
    {
        var splitter = file.Splitter;
        var length = RandomAccess.GetLength(file.Handle);
        if (length < splitter.ReadPosition)
        {
            MarkTruncated(file);
            SaveCheckpoint();
        }
        file.Batch.Clear(budget);
        var readAny = false;
        while (true)
        {
            classifier.Drain(splitter, file.Origin, file.Batch);
            if (file.Batch.IsFull || splitter.ReadPosition >= length) break;
            var read = await RandomAccess.ReadAsync(file.Handle, splitter.GetWriteMemory(), splitter.ReadPosition, cancellationToken);
            if (read == 0) break;
            splitter.Advance(read);
            readAny = true;
        }
        return readAny;
    }

    private void SaveCheckpoint() => checkpoints.Save(_files.Values.Select(f => f.ToCheckpoint()).ToList());
}
