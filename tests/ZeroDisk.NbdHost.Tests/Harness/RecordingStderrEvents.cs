namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>The event lines an in-process server would write on stderr, exactly as formatted.</summary>
public sealed class RecordingStderrEvents : IStderrEvents
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get { lock (_lines) return _lines.ToList(); }
    }

    public void Write(StderrEvent ev)
    {
        lock (_lines) _lines.Add(StderrEventWriter.Format(ev));
    }

    public Task WaitForAsync(string line, TimeSpan timeout) =>
        Eventually.TrueAsync(() => Lines.Contains(line), timeout, $"stderr line {line}", () => $"got:\n{string.Join('\n', Lines)}");
}
