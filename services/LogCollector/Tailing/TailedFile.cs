using Microsoft.Win32.SafeHandles;
using ZeroDisk.LogCollector.Checkpoints;
using ZeroDisk.LogCollector.Publishing;

namespace ZeroDisk.LogCollector.Tailing;

/// <summary>
/// One process log file, known by its inode: it keeps its stream name across a rename (rotation) and is read
/// through its own open handle, so lines written just before a rotation or unlink are still read.
/// </summary>
internal sealed class TailedFile : IDisposable
{
    public TailedFile(string node, string path, SafeFileHandle handle, FileIdentity identity, StreamCheckpoint? resume, int maxLineBytes, int chunkBytes)
    {
        Handle = handle;
        Identity = identity;
        var stream = resume?.Stream ?? StreamNames.Of(System.IO.Path.GetFileName(path));
        Origin = new LineOrigin(node, stream, path, identity.Inode, resume?.Generation ?? 0);
        CommittedOffset = resume?.Offset ?? 0;
        Splitter = new LineSplitter(maxLineBytes, chunkBytes, CommittedOffset);
    }

    public SafeFileHandle Handle { get; }
    public FileIdentity Identity { get; }
    public LineOrigin Origin { get; private set; }
    public LineSplitter Splitter { get; }

    /// <summary>Offset of the first line not yet confirmed by the broker (what the checkpoint holds).</summary>
    public long CommittedOffset { get; set; }

    /// <summary>False once the file has left the directory (unlinked); it is dropped when read to its end.</summary>
    public bool InDirectory { get; set; } = true;

    public void Renamed(string path) => Origin = Origin with { Path = path };

    /// <summary>The file shrank below what was read: it was truncated. Start a new generation at offset 0.</summary>
    public void Truncated()
    {
        Origin = Origin with { Generation = Origin.Generation + 1 };
        CommittedOffset = 0;
        Splitter.Reset(0);
    }

    public StreamCheckpoint ToCheckpoint() => new(Origin.Stream, Identity.Device, Identity.Inode, Origin.Generation, CommittedOffset);

    public void Dispose()
    {
        Splitter.Dispose();
        Handle.Dispose();
    }
}
