using System.CommandLine;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Zdctl.Cli;

/// <summary>Where the services are, for every command: the admin API, etcd, and the key scope of the deployment.</summary>
public sealed class GlobalOptions
{
    public const string AdminUrlVariable = "ZD_ADMIN_URL";
    public const string ScopeVariable = "ZD_SCOPE";

    public Option<string> Api { get; } = new("--api")
    {
        Description = $"ClusterState's admin API (default: ${AdminUrlVariable}, else {ClusterStateExtensions.DefaultUrl})",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(AdminUrlVariable) is { Length: > 0 } url ? url : ClusterStateExtensions.DefaultUrl,
        Recursive = true,
    };

    public Option<string> Etcd { get; } = new("--etcd")
    {
        Description = $"etcd endpoints, comma-separated (default: ${EtcdExtensions.EndpointsKey})",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(EtcdExtensions.EndpointsKey) ?? "",
        Recursive = true,
    };

    public Option<string> Scope { get; } = new("--scope")
    {
        Description = $"only clusters and vdisks whose etcd keys begin with this, as ClusterState:KeyScope (default: ${ScopeVariable}, else all)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(ScopeVariable) ?? "",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Options.Add(Api);
        root.Options.Add(Etcd);
        root.Options.Add(Scope);
    }

    public ZdctlContext Resolve(ParseResult parse)
    {
        var api = parse.GetValue(Api)!;
        if (!Uri.TryCreate(api, UriKind.Absolute, out var apiUrl) || apiUrl.Scheme is not ("http" or "https"))
            throw new ZdctlException(ExitCodes.BadInput, $"--api '{api}' must be an http(s) URL such as {ClusterStateExtensions.DefaultUrl}");
        return new ZdctlContext(apiUrl, parse.GetValue(Etcd) ?? "", parse.GetValue(Scope) ?? "");
    }
}
