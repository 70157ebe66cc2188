namespace ZeroDisk.NbdHost.Tests.Configuration;

/// <summary>
/// <c>nbdhost serve</c> (and <c>serve-memory</c>) as a real process with one wrong option: it exits at start with exit code 2 and a line naming
/// the option, not a stack trace, before it touches etcd or an engine (the etcd endpoint given answers nothing).
/// </summary>
public sealed class When_serve_starts_with_an_invalid_option
{
    [Theory]
    [InlineData("Storage__CommandTimeout", "00:00:00", "Storage:CommandTimeout")]
    [InlineData("Storage__CommandTimeout", "soon", "Storage:CommandTimeout")]
    [InlineData("Storage__MaxBlocksInFlight", "0", "Storage:MaxBlocksInFlight")]
    [InlineData("Ownership__SafetyMargin", "00:00:00.200", "Ownership:SafetyMargin")]
    [InlineData("Nbd__MaxConnections", "0", "MaxConnections")]
    public Task It_exits_naming_the_option(string variable, string value, string named) =>
        ExitsNamingTheOptionAsync(["serve", "--id", "invalid-option", "--listen", $"127.0.0.1:{FreePort.Next()}", "--etcd", "http://127.0.0.1:1"],
            variable, value, named);

    /// <summary><c>nbdhost serve-memory</c> reads the Nbd section the same way and fails at start the same way.</summary>
    [Theory]
    [InlineData("Nbd__MaxConnections", "0", "MaxConnections")]
    [InlineData("Nbd__HandshakeIdleTimeout", "soon", "Nbd:HandshakeIdleTimeout")]
    [InlineData("Nbd__MaxBufferedBytesPerConnection", "4096", "MaxBufferedBytesPerConnection")]
    public Task Serve_memory_exits_naming_the_option(string variable, string value, string named) =>
        ExitsNamingTheOptionAsync(["serve-memory", "--listen", $"127.0.0.1:{FreePort.Next()}", "--export", "invalid-option:1"],
            variable, value, named);

    private static async Task ExitsNamingTheOptionAsync(string[] verb, string variable, string value, string named)
    {
        var result = await ExternalProcess.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "nbdhost.dll"), .. verb],
            TimeSpan.FromSeconds(90), new Dictionary<string, string> { [variable] = value });

        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.StdErr}");
        Assert.Contains("invalid configuration: ", result.StdErr);
        Assert.Contains(named, result.StdErr);
        Assert.DoesNotContain("Unhandled exception", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdOut + result.StdErr); // no stack trace, in the log either
    }
}
