using ZeroDisk.Contracts;
using ZeroDisk.Storage;

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

    public async Task WaitForAsync(string line, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Lines.Contains(line))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no stderr line {line} within {timeout}; got:\n{string.Join('\n', Lines)}");
            await Task.Delay(50);
        }
    }
}
