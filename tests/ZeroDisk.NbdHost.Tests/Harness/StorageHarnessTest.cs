namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>
/// A test class over a fresh <see cref="StorageHarness"/> (<see cref="H"/>), started before each test and disposed
/// after it; with a test output, the harness's log goes there at the end.
/// </summary>
public abstract class StorageHarnessTest(ITestOutputHelper? output = null) : IAsyncLifetime
{
    protected StorageHarness H { get; private set; } = null!;

    protected ITestOutputHelper Output => output ?? throw new InvalidOperationException("this test class takes no test output");

    protected virtual int Shards => 2;

    protected virtual int BlockSize => 4096;

    /// <summary>The storage options of the in-process server (null: <see cref="StorageHarness.TestStorageOptions"/>).</summary>
    protected virtual StorageOptions? Options => null;

    /// <summary>False when the test runs <c>nbdhost serve</c> as a process instead of the in-process server.</summary>
    protected virtual bool InProcessServer => true;

    /// <summary>Which lines of the harness's log go to the test output.</summary>
    protected virtual bool ShowsInOutput(string logLine) => true;

    public virtual async Task InitializeAsync() => H = await StorageHarness.StartAsync(Shards, BlockSize, Options, InProcessServer);

    public virtual async Task DisposeAsync()
    {
        if (output is not null)
            foreach (var line in H.Logs.Lines.Where(ShowsInOutput)) output.WriteLine(line);
        await H.DisposeAsync();
    }
}
