namespace ZeroDisk.NbdHost.Agent.Tests;

public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Kept when ZD_KEEP_TEMP=1, to read the logs of a failed run.</summary>
    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("ZD_KEEP_TEMP") == "1") return;
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { /* a child still writing: the temp dir is cleaned later */ }
    }
}
