namespace ZeroDisk.ClusterState.Tests.Fixtures;

/// <summary>The built zdctl (tools/Zdctl) run as a real process, pointed at one deployment's admin API, etcd and key scope.</summary>
/// <param name="withToken">Pass the deployment's admin token with --token (false: the test gives it some other way, or none).</param>
public sealed class ZdctlCli(ClusterStateDeployment? deployment = null, bool withToken = true)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    public static string Dll { get; } = Path.Combine(RepoPaths.Root, "tools", "Zdctl", "bin",
        AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release", "net10.0", "zdctl.dll");

    private IEnumerable<string> Arguments(IEnumerable<string> args) =>
        deployment is null
            ? [Dll, .. args]
            : [Dll, "--api", deployment.Instances[0].Url.ToString(), "--etcd", deployment.Endpoints.EtcdEndpoints, "--scope", deployment.Scope,
                .. withToken ? new[] { "--token", ClusterStateInstance.AdminToken } : [], .. args];

    public Task<ExternalProcess.Result> RunAsync(params string[] args) => RunAsync(args, environment: null);

    public Task<ExternalProcess.Result> RunAsync(IEnumerable<string> args, IDictionary<string, string>? environment) =>
        File.Exists(Dll)
            ? ExternalProcess.RunAsync("dotnet", Arguments(args), Deadline, environment)
            : throw new FileNotFoundException("build tools/Zdctl first", Dll);

    /// <summary>A long-running command (follow), read line by line as it prints.</summary>
    public BackgroundProcess Start(params string[] args) => BackgroundProcess.Start("dotnet", Arguments(args));
}
