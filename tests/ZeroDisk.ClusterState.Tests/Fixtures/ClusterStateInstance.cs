using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using ZeroDisk.ClusterState.Extensions;

namespace ZeroDisk.ClusterState.Tests.Fixtures;

/// <summary>One running ClusterState: in-process (its own host builder) or the built clusterstate.dll as a real process.</summary>
public abstract class ClusterStateInstance : IAsyncDisposable
{
    protected ClusterStateInstance(Uri url) => Url = url;

    public Uri Url { get; }

    /// <summary>The service's own container, for an in-process instance (null for a process).</summary>
    public virtual IServiceProvider? Services => null;

    public abstract ValueTask DisposeAsync();

    /// <summary>The admin token every test instance is configured with (ClusterState:AdminToken).</summary>
    public const string AdminToken = "test-admin-token";

    public static IReadOnlyList<string> Arguments(Uri url, InfrastructureEndpoints endpoints, Uri rabbitMq, string scope) =>
    [
        $"--urls={url}",
        $"--ETCD_ENDPOINTS={endpoints.EtcdEndpoints}",
        $"--RABBITMQ_URI={rabbitMq}",
        $"--{ClusterStateOptions.Section}:KeyScope={scope}",
        $"--{ClusterStateOptions.Section}:EndpointPrefix={scope}",
        $"--{ClusterStateOptions.Section}:AdminToken={AdminToken}",
        "--Logging:LogLevel:Default=Warning",
        "--Logging:LogLevel:MassTransit=Error",
    ];

    public static async Task<ClusterStateInstance> StartInProcessAsync(InfrastructureEndpoints endpoints, Uri rabbitMq, string scope,
        IEnumerable<string>? extraArguments = null, Action<WebApplicationBuilder>? configure = null)
    {
        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var app = ClusterStateApp.Build([.. Arguments(url, endpoints, rabbitMq, scope), .. extraArguments ?? []], configure);
        await app.StartAsync();
        return new InProcess(url, app);
    }

    public static async Task<ExternalInstance> StartProcessAsync(InfrastructureEndpoints endpoints, Uri rabbitMq, string scope, string logFile,
        IEnumerable<string>? extraArguments = null)
    {
        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        // The same configuration as these tests were built in (scripts/test.sh builds Release).
        var configuration = AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.Combine(RepoPaths.Root, "services", "ClusterState", "bin", configuration, "net10.0", "clusterstate.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("build services/ClusterState first", dll);
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var arg in Arguments(url, endpoints, rabbitMq, scope).Concat(extraArguments ?? [])) psi.ArgumentList.Add(arg);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start clusterstate.dll");
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var instance = new ExternalInstance(url, process, log);
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.UntilAsync(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"clusterstate exited with {process.ExitCode}; see {logFile}");
            try { return (await http.GetAsync("/health")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
            catch (TaskCanceledException) { return false; }
        }, "the clusterstate process answers /health", TimeSpan.FromSeconds(60));
        return instance;
    }

    private sealed class InProcess(Uri url, WebApplication app) : ClusterStateInstance(url)
    {
        public override IServiceProvider Services => app.Services;

        public override async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public sealed class ExternalInstance(Uri url, Process process, StreamWriter log) : ClusterStateInstance(url)
    {
        public int Pid => process.Id;

        /// <summary>SIGKILL: no shutdown, no flush, no goodbye to the broker.</summary>
        public async Task KillAsync()
        {
            if (process.HasExited) return;
            process.Kill();
            await process.WaitForExitAsync();
        }

        public override async ValueTask DisposeAsync()
        {
            await KillAsync();
            process.Dispose();
            lock (log) log.Dispose();
        }
    }
}
