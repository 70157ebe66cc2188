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
/// safety net for missed events. Each pass reads new lines from the files (round robin, up to MaxInFlight/2 messages
/// in all, so one huge backlog does not starve the others) and publishes them concurrently; the next pass is read and
/// published while this one awaits its confirms (so at most MaxInFlight are in flight), and a pass moves its files'
/// checkpoints only once all its confirms are in and every earlier pass has committed. Nothing is read beyond two
/// unconfirmed passes: the files themselves are the backlog.
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
    private readonly PublishPass[] _passes = [new(options.MaxBatchBytes), new(options.MaxBatchBytes)];
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
        var next = 0;
        PublishPass? flying = null;
        var flyingConfirmed = Task.CompletedTask;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                _wake.Reader.TryRead(out _);
                if (Interlocked.Exchange(ref _rescanRequested, 0) == 1 || DateTime.UtcNow - lastScan >= options.RescanInterval)
                {
                    try
                    {
                        Scan(firstScan);
                        firstScan = false;
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        logger.LogError(ex, "Could not list {Directory}; trying again in {Interval}", options.Directory, options.RescanInterval);
                    }
                    lastScan = DateTime.UtcNow;
                }
                var pass = _passes[next];
                next ^= 1; // never the pass in flight: they alternate
                var progress = await FillPassAsync(pass, stoppingToken);
                var published = pass.Entries.Count > 0 ? publisher.PublishAllAsync(pass.Messages, options.Node, stoppingToken) : null;
                if (flying is not null)
                {
                    await flyingConfirmed;
                    Commit(flying);
                    flying = null;
                }
                if (published is not null)
                {
                    flying = pass;
                    flyingConfirmed = published;
                }
                if (!progress && flying is null)
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
            var name = Path.GetFileName(path);
            if (IsHidden(name)) continue; // the checkpoint and other hidden files
            if (StreamNames.IsCompressed(name)) continue; // a compressed rotation: read before it was compressed
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
        var file = new TailedFile(options.Node, path, handle, identity, resume, options.MaxLineBytes, options.ReadChunkBytes);
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

    /// <summary>Reads new complete lines from the files into <paramref name="pass"/>; true when anything was read or consumed.</summary>
    private async Task<bool> FillPassAsync(PublishPass pass, CancellationToken cancellationToken)
    {
        var progress = false;
        var budget = Math.Max(1, options.MaxInFlight / 2);
        List<TailedFile>? drained = null;
        var files = _files.Values.ToArray();
        for (var i = 0; i < files.Length && budget > 0; i++)
        {
            var file = files[(_nextFirst + i) % files.Length];
            var batch = pass.RentBatch(budget);
            bool read;
            try
            {
                read = await FillBatchAsync(file, batch, cancellationToken);
            }
            catch (IOException ex)
            {
                logger.LogWarning(ex, "Reading {Path} failed; retrying on the next pass", file.Origin.Path);
                pass.ReturnBatch(batch);
                continue;
            }
            progress |= read || batch.ConsumedAny;
            if (batch.ConsumedAny)
            {
                pass.Add(file, batch);
                budget -= batch.Messages.Count;
                continue;
            }
            pass.ReturnBatch(batch);
            if (!read && !file.InDirectory) (drained ??= []).Add(file);
        }
        _nextFirst = files.Length == 0 ? 0 : (_nextFirst + 1) % files.Length;
        if (drained is not null)
        {
            // Lines of these files may still await confirms in the other pass: that commit only sets a number.
            foreach (var file in drained)
            {
                logger.LogInformation("Stream {Stream} ({Path}) was removed and is read to its end; forgetting it", file.Origin.Stream, file.Origin.Path);
                _files.Remove(file.Identity);
                file.Dispose();
            }
            SaveCheckpoint();
        }
        return progress;
    }

    /// <summary>Every message of the pass is confirmed: move its files' checkpoints (unless truncated meanwhile).</summary>
    private void Commit(PublishPass pass)
    {
        foreach (var entry in pass.Entries)
        {
            if (entry.File.Origin.Generation != entry.Generation) continue; // truncated since: those offsets mean nothing now
            entry.File.CommittedOffset = entry.Batch.EndOffset;
            entry.File.Splitter.ReleaseIfEmpty();
        }
        SaveCheckpoint();
        pass.Reset();
    }

    /// <summary>Reads the file's new complete lines into <paramref name="batch"/> (until it is full); true when bytes were read.</summary>
    private async Task<bool> FillBatchAsync(TailedFile file, LineBatch batch, CancellationToken cancellationToken)
    {
        var splitter = file.Splitter;
        var length = RandomAccess.GetLength(file.Handle);
        if (length < splitter.ReadPosition)
        {
            MarkTruncated(file);
            SaveCheckpoint();
        }
        var readAny = false;
        while (true)
        {
            classifier.Drain(splitter, file.Origin, batch);
            if (batch.IsFull || splitter.ReadPosition >= length) break;
            var read = await RandomAccess.ReadAsync(file.Handle, splitter.GetWriteMemory(), splitter.ReadPosition, cancellationToken);
            if (read == 0) break;
            splitter.Advance(read);
            readAny = true;
        }
        return readAny;
    }

    private void SaveCheckpoint()
    {
        try
        {
            checkpoints.Save(_files.Values.Select(f => f.ToCheckpoint()).ToList());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Keep going: the next pass saves again; a crash meanwhile only means re-reading (duplicates).
            logger.LogError(ex, "Could not write the checkpoint {Path}", checkpoints.Path);
        }
    }
}
