namespace ZeroDisk.ClusterState.Tests.Zdctl;

/// <summary>Bad input exits 2, an unreachable service 3; always a short message on stderr, never a stack trace.</summary>
public sealed class When_zdctl_gets_bad_input_or_finds_no_service
{
    private readonly ZdctlCli _zdctl = new();

    [Theory]
    [InlineData(2, "Required command was not provided")]
    [InlineData(2, "Option '--slave-cluster' is required", "vdisk", "create", "vd1", "--cluster", "c1")]
    [InlineData(2, "vdisk id 'no spaces' must be", "vdisk", "delete", "no spaces")]
    [InlineData(2, "--size '10M' must be a whole number of GiB", "vdisk", "create", "vd1", "--cluster", "a", "--slave-cluster", "b", "--size", "10M")]
    [InlineData(2, "must be host:port", "outage", "declare", "not-an-address", "--permanent")]
    [InlineData(2, "--permanent or --temporary", "outage", "declare", "127.0.0.1:1")]
    [InlineData(2, "--api 'nowhere' must be an http(s) URL", "--api", "nowhere", "vdisk", "delete", "vd1")]
    [InlineData(2, "--timeout must be a positive number", "follow", "--timeout", "0")]
    [InlineData(3, "cannot reach etcd at http://127.0.0.1:1", "--etcd", "http://127.0.0.1:1", "status")]
    [InlineData(3, "cannot reach etcd at http://127.0.0.1:1", "--etcd", "http://127.0.0.1:1", "follow")]
    public async Task It_exits_non_zero_with_a_one_line_reason(int exitCode, string message, params string[] args)
    {
        var result = await _zdctl.RunAsync(args);
        AssertExplained(result, exitCode, message);
    }

    [Fact]
    public async Task An_admin_api_nobody_listens_on_is_named()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        AssertExplained(await _zdctl.RunAsync("--api", url, "vdisk", "delete", "vd1"), 3, $"cannot reach ClusterState's admin API at {url}/");
    }

    [Fact]
    public async Task Missing_etcd_endpoints_are_asked_for()
    {
        var result = await _zdctl.RunAsync(["status"], new Dictionary<string, string> { ["ETCD_ENDPOINTS"] = "" });
        AssertExplained(result, 2, "no etcd endpoints: pass --etcd or set ETCD_ENDPOINTS");
    }

    private static void AssertExplained(ExternalProcess.Result result, int exitCode, string message)
    {
        Assert.Equal(exitCode, result.ExitCode);
        Assert.Contains(message, result.StdErr);
        Assert.StartsWith("zdctl: ", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.DoesNotContain("Exception", result.StdErr);
        Assert.Equal("", result.StdOut);
    }
}
