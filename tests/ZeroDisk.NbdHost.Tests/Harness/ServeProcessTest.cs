using Xunit.Abstractions;

namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>
/// A test class over one <c>nbdhost serve</c> process (<see cref="Serve"/>) on a fresh two-shard harness (<see cref="H"/>);
/// at the end the process's log (without stack-trace continuation lines, unless they name an exception) goes to the
/// test output.
/// </summary>
public abstract class ServeProcessTest(ITestOutputHelper output) : IAsyncLifetime
{
    protected ITestOutputHelper Output => output;
    protected StorageHarness H { get; private set; } = null!;
    protected ServeProcess Serve { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        H = await StorageHarness.StartAsync(shards: 2, inProcessServer: false);
        Serve = await ServeProcess.StartAsync(H.ServerId, H.EtcdEndpoints);
    }

    public virtual async Task DisposeAsync()
    {
        await StopAndLogAsync(Serve, "nbdhost serve");
        await H.DisposeAsync();
    }

    protected async Task StopAndLogAsync(ServeProcess serve, string name)
    {
        await serve.DisposeAsync();
        output.WriteLine($"--- {name}");
        foreach (var line in serve.StdoutLines.Concat(serve.StderrLines).Where(l => !l.StartsWith("      ", StringComparison.Ordinal) || l.Contains("Exception")))
            output.WriteLine(line);
    }
}
