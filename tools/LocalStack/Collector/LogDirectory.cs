using System.Text;

namespace ZeroDisk.LocalStack.Collector;

/// <summary>A private log directory (what a node agent writes), removed afterwards.</summary>
public sealed class LogDirectory : IDisposable
{
    public LogDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "zd-lc-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Appends raw bytes; returns the offset they start at.</summary>
    public static long Append(string path, ReadOnlySpan<byte> bytes)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        var offset = stream.Position;
        stream.Write(bytes);
        return offset;
    }

    /// <summary>Appends one line (text + newline); returns its offset.</summary>
    public static long AppendLine(string path, string line) => Append(path, Encoding.UTF8.GetBytes(line + "\n"));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { /* a collector still closing a handle: the temp dir is cleaned later */ }
    }
}
