namespace ZeroDisk.NbdHost.Tests.Configuration;

/// <summary>
/// <c>nbdhost serve</c> as a real process with one wrong option: it exits at start with exit code 2 and a line naming
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
    public async Task It_exits_naming_the_option(string variable, string value, string named)
    {
        var result = await ExternalProcess.RunAsync("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "nbdhost.dll"), "serve", "--id", "invalid-option", "--listen", $"127.0.0.1:{FreePort.Next()}", "--etcd", "http://127.0.0.1:1"],
            TimeSpan.FromSeconds(90), new Dictionary<string, string> { [variable] = value });

        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.StdErr}");
        Assert.Contains("invalid configuration: ", result.StdErr);
        Assert.Contains(named, result.StdErr);
        Assert.DoesNotContain("Unhandled exception", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdOut + result.StdErr); // no stack trace, in the log either
    }
}
