using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ZeroDisk.LogCollector.Checkpoints;

/// <summary>
/// The checkpoint file: one entry per stream, replaced atomically (write a temporary file, then rename it over the
/// old one), so a crash at any moment leaves either the old or the new checkpoint, never a torn one. No fsync: a
/// SIGKILL keeps the page cache, and after a power loss an older checkpoint only means duplicates, never a loss.
/// </summary>
public sealed class CheckpointStore(string path, ILogger<CheckpointStore> logger)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly string _temporaryPath = path + ".tmp";

    public string Path => path;

    public IReadOnlyList<StreamCheckpoint> Load()
    {
        if (!File.Exists(path)) return [];
        try
        {
            return JsonSerializer.Deserialize<CheckpointFile>(File.ReadAllBytes(path), Json)?.Streams ?? [];
        }
        catch (JsonException ex)
        {
            // Unreadable: start over from the beginning of every file (duplicates, never a loss).
            logger.LogError(ex, "Checkpoint {Path} is unreadable; re-reading every stream from its start", path);
            return [];
        }
    }

    public void Save(IReadOnlyList<StreamCheckpoint> streams)
    {
        using (var stream = new FileStream(_temporaryPath, FileMode.Create, FileAccess.Write, FileShare.None, 16 * 1024))
            JsonSerializer.Serialize(stream, new CheckpointFile(streams), Json);
        File.Move(_temporaryPath, path, overwrite: true);
    }

    private sealed record CheckpointFile(IReadOnlyList<StreamCheckpoint> Streams);
}
