using dotnet_etcd;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Zdctl.Cli;

/// <summary>The services one command talks to, connected on first use (so a command that needs only one never fails on the other).</summary>
public sealed class ZdctlContext(Uri api, string etcdEndpoints, string scope, string? adminToken = null, TimeSpan? adminTimeout = null) : IDisposable
{
    private EtcdClient? _etcd;
    private AdminClient? _admin;

    public Uri Api { get; } = api;
    public string EtcdEndpoints { get; } = etcdEndpoints;
    public string Scope { get; } = scope;

    /// <summary>The services this command has used so far, for an error message that names the right one.</summary>
    public string ServicesUsed => string.Join(" and ", new[] { _etcd is null ? null : $"etcd at {EtcdEndpoints}", _admin is null ? null : $"the admin API at {Api}" }.OfType<string>());

    public EtcdClient Etcd()
    {
        if (_etcd is not null) return _etcd;
        if (EtcdEndpoints.Length == 0)
            throw new ZdctlException(ExitCodes.BadInput, $"no etcd endpoints: pass --etcd or set {EtcdExtensions.EndpointsKey} (e.g. http://127.0.0.1:23790)");
        try
        {
            return _etcd = EtcdExtensions.CreateClient(EtcdEndpoints);
        }
        catch (Exception ex) when (ex is UriFormatException or ArgumentException or InvalidOperationException)
        {
            throw new ZdctlException(ExitCodes.BadInput, $"--etcd '{EtcdEndpoints}' is not a list of endpoints such as http://127.0.0.1:23790 ({ex.Message})");
        }
    }

    public AdminClient Admin() => _admin ??= new AdminClient(Api, adminToken, adminTimeout);

    public void Dispose()
    {
        _etcd?.Dispose();
        _admin?.Dispose();
    }
}
