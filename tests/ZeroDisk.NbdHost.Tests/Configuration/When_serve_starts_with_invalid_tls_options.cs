namespace ZeroDisk.NbdHost.Tests.Configuration;

/// <summary>
/// <c>nbdhost serve</c> with TLS or access settings that cannot work: it exits at start with code 2 and a line naming
/// the setting (a missing or unusable certificate file, access rules without verified client certificates), before
/// it touches etcd (the endpoint given answers nothing).
/// </summary>
public sealed class When_serve_starts_with_invalid_tls_options : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("zd-tls-options").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_missing_certificate_file_is_named()
    {
        var problems = await StartAsync(new()
        {
            ["Nbd__Tls__Mode"] = "Required",
            ["Nbd__Tls__CertificateFile"] = Path.Combine(_directory, "missing-cert.pem"),
            ["Nbd__Tls__KeyFile"] = Path.Combine(_directory, "missing-key.pem"),
        });
        Assert.Contains("invalid configuration: Nbd:Tls:CertificateFile: file ", problems);
        Assert.Contains("invalid configuration: Nbd:Tls:KeyFile: file ", problems);
    }

    [Fact]
    public async Task A_file_that_is_no_certificate_is_named()
    {
        var garbage = Path.Combine(_directory, "garbage.pem");
        await File.WriteAllTextAsync(garbage, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        var problems = await StartAsync(new()
        {
            ["Nbd__Tls__Mode"] = "Allowed",
            ["Nbd__Tls__CertificateFile"] = garbage,
            ["Nbd__Tls__KeyFile"] = garbage,
        });
        Assert.Contains("invalid configuration: Nbd:Tls:CertificateFile: cannot use ", problems);
    }

    [Fact]
    public async Task Access_rules_without_verified_client_certificates_are_refused()
    {
        var problems = await StartAsync(new() { ["Nbd__Access__Enabled"] = "true", ["Nbd__Access__Exports__vd1"] = "vm1" });
        Assert.Contains("invalid configuration: Nbd:Access:Enabled: needs Tls:Mode Required", problems);
        Assert.Contains("invalid configuration: Nbd:Access:Enabled: needs Tls:ClientCaFile", problems);
    }

    [Fact]
    public async Task A_mode_that_does_not_exist_is_named()
    {
        var problems = await StartAsync(new() { ["Nbd__Tls__Mode"] = "Sometimes" });
        Assert.Contains("Nbd:Tls:Mode", problems);
    }

    private static async Task<string> StartAsync(Dictionary<string, string> environment)
    {
        var result = await ExternalProcess.RunAsync("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "nbdhost.dll"), "serve", "--id", "invalid-tls", "--listen", $"127.0.0.1:{FreePort.Next()}", "--etcd", "http://127.0.0.1:1"],
            TimeSpan.FromSeconds(90), environment);
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}; stderr: {result.StdErr}");
        Assert.DoesNotContain("   at ", result.StdOut + result.StdErr);
        return result.StdErr;
    }
}
