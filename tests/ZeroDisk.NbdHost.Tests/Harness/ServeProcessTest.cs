namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>
/// A test class over one <c>nbdhost serve</c> process (<see cref="Serve"/>) on a fresh two-shard harness (<see cref="H"/>);
/// at the end the process's log (without stack frames) goes to the test output.
/// </summary>
public abstract class ServeProcessTest(ITestOutputHelper output) : StorageHarnessTest(output)
{
    protected ServeProcess Serve { get; set; } = null!;

    /// <summary>Extra environment of every <c>nbdhost serve</c> the test starts (e.g. <c>Storage__RepairBatch</c>).</summary>
    protected virtual IReadOnlyDictionary<string, string>? ServeEnvironment => null;

    /// <summary>
    /// A 6 s owner lease, for tests of its expiry: served until 3 s before it could expire (the 2 s test command timeout
    /// + 1 s), with a keep-alive every second.
    /// </summary>
    protected static readonly IReadOnlyDictionary<string, string> ShortOwnerLease = new Dictionary<string, string> { ["Ownership__LeaseTtl"] = "00:00:06" };

    protected static readonly TimeSpan ShortOwnerLeaseHeldSpan = TimeSpan.FromSeconds(6) - StorageHarness.TestStorageOptions.CommandTimeout - TimeSpan.FromSeconds(1);

    protected override bool InProcessServer => false;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Serve = await StartServeAsync();
    }

    protected Task<ServeProcess> StartServeAsync() => ServeProcess.StartAsync(H.ServerId, H.EtcdEndpoints, environment: ServeEnvironment);

    /// <summary>qemu-io commands in one session against the vdisk on the current <see cref="Serve"/>.</summary>
    protected Task<string> QemuIoAsync(params string[] commands) => LocalStack.NbdClients.QemuIoAsync(Serve.Uri(H.VdiskId), commands);

    public override async Task DisposeAsync()
    {
        await StopAndLogAsync(Serve, "nbdhost serve");
        await base.DisposeAsync();
    }

    protected async Task StopAndLogAsync(ServeProcess serve, string name)
    {
        await serve.DisposeAsync();
        Output.WriteLine($"--- {name}");
        // Stack frames are left out, messages are not: a flake's "storage engine … failed: <why>" is its explanation.
        foreach (var line in serve.StdoutLines.Concat(serve.StderrLines).Where(l => !l.TrimStart().StartsWith("at ", StringComparison.Ordinal)))
            Output.WriteLine(line);
    }
}
