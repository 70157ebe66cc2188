using System.CommandLine;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Zdctl.Cli;

/// <summary>Where the services are, for every command: the admin API, etcd, and the key scope of the deployment.</summary>
public sealed class GlobalOptions
{
    public const string AdminUrlVariable = "ZD_ADMIN_URL";
    public const string ScopeVariable = "ZD_SCOPE";
    public const string TokenVariable = "ZD_ADMIN_TOKEN";
    public const string TokenFileVariable = "ZD_ADMIN_TOKEN_FILE";

    public Option<string> Api { get; } = new("--api")
    {
        Description = $"ClusterState's admin API (default: ${AdminUrlVariable}, else {AdminEndpoint.DefaultUrl})",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(AdminUrlVariable) is { Length: > 0 } url ? url : AdminEndpoint.DefaultUrl,
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

    public Option<string> Token { get; } = new("--token")
    {
        Description = $"the admin API's bearer token, needed by every command that changes something (default: ${TokenVariable}; prefer --token-file: a flag shows in ps)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(TokenVariable) ?? "",
        Recursive = true,
    };

    public Option<string> TokenFile { get; } = new("--token-file")
    {
        Description = $"a file holding the admin API's bearer token (default: ${TokenFileVariable})",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(TokenFileVariable) ?? "",
        Recursive = true,
    };

    public Option<int> Timeout { get; } = new("--timeout")
    {
        Description = "seconds to wait for the admin API's answer",
        DefaultValueFactory = _ => 15,
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Options.Add(Api);
        root.Options.Add(Timeout);
        root.Options.Add(Token);
        root.Options.Add(TokenFile);
        root.Options.Add(Etcd);
        root.Options.Add(Scope);
    }

    public ZdctlContext Resolve(ParseResult parse)
    {
        var api = parse.GetValue(Api)!;
        if (!Uri.TryCreate(api, UriKind.Absolute, out var apiUrl) || apiUrl.Scheme is not ("http" or "https"))
            throw new ZdctlException(ExitCodes.BadInput, $"--api '{api}' must be an http(s) URL such as {AdminEndpoint.DefaultUrl}");
        var timeout = parse.GetValue(Timeout);
        if (timeout <= 0) throw new ZdctlException(ExitCodes.BadInput, $"--timeout {timeout} must be a positive number of seconds");
        return new ZdctlContext(apiUrl, parse.GetValue(Etcd) ?? "", parse.GetValue(Scope) ?? "", AdminToken(parse), TimeSpan.FromSeconds(timeout));
    }

    /// <summary>--token (or $ZD_ADMIN_TOKEN), else the content of --token-file (or $ZD_ADMIN_TOKEN_FILE), else none.</summary>
    private string? AdminToken(ParseResult parse)
    {
        if (parse.GetValue(Token) is { Length: > 0 } token) return token.Trim();
        if (parse.GetValue(TokenFile) is not { Length: > 0 } file) return null;
        try
        {
            return File.ReadAllText(file).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ZdctlException(ExitCodes.BadInput, $"cannot read the admin token file '{file}': {ex.Message}");
        }
    }
}
