using dotnet_etcd;
using MassTransit;
using ZeroDisk.ClusterState.Admin;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Setup;

/// <summary>
/// Tlog clusters, which vdisks an NBD server exports (<c>&lt;serverID&gt;:nbdserver:conf:vdisks</c>), and starting an
/// NBD or tlog server through its node's agent (the agent's own command path: <see cref="RestartNbdServer"/>,
/// <see cref="RestartTlogServer"/> to its exchange).
/// </summary>
public sealed class ServerSetup(EtcdClient etcd, IBus bus)
{
    private const int Attempts = 5;

    public async Task<AdminResult> CreateTlogClusterAsync(CreateTlogClusterRequest request, CancellationToken ct)
    {
        var servers = request.Servers ?? [];
        var errors = new List<string>();
        if (!ConfigValidation.IsValidId(request.Id)) errors.Add($"cluster id '{request.Id}' must be 1-128 letters, digits, '-', '_' or '.'");
        if (servers.Count == 0) errors.Add("a tlog cluster needs at least one server");
        errors.AddRange(servers.Where(s => !ConfigValidation.IsHostPort(s)).Select(s => $"tlog server '{s}' must be host:port"));
        if (servers.Distinct().Count() != servers.Count) errors.Add("a tlog server is listed twice");
        if (errors.Count > 0) return new AdminResult(400, string.Join("; ", errors));

        var key = EtcdKeys.TlogClusterConfig(request.Id);
        if (await etcd.GetJsonAsyncOrNull<TlogClusterConfig>(key, ct) is { } existing)
            return existing.Servers.SequenceEqual(servers)
                ? new AdminResult(200, $"tlog cluster '{request.Id}' already exists with these servers")
                : new AdminResult(409, $"tlog cluster '{request.Id}' already exists with other servers: {string.Join(", ", existing.Servers)}");
        var created = await new EtcdTransaction().ExpectVersion(key, 0).Put(key, ZeroDiskJson.Serialize(new TlogClusterConfig(servers))).CommitAsync(etcd, ct);
        return created
            ? new AdminResult(201, $"tlog cluster '{request.Id}' created with {servers.Count} server(s)")
            : new AdminResult(409, $"tlog cluster '{request.Id}' was created meanwhile");
    }

    /// <summary>Adds a vdisk to the server's exports; a running server sees it through its etcd watch and serves it.</summary>
    public async Task<AdminResult> AssignAsync(string serverId, string vdiskId, CancellationToken ct)
    {
        if (!ConfigValidation.IsValidId(serverId) || !ConfigValidation.IsValidId(vdiskId))
            return new AdminResult(400, "server and vdisk ids must be 1-128 letters, digits, '-', '_' or '.'");
        if (await etcd.GetAsync(EtcdKeys.VdiskNbdConfig(vdiskId), ct) is null) return new AdminResult(404, $"vdisk '{vdiskId}' does not exist");
        return await ChangeExportsAsync(serverId, vdisks => vdisks.Contains(vdiskId) ? null : [.. vdisks, vdiskId],
            $"vdisk '{vdiskId}' assigned to NBD server '{serverId}'", $"vdisk '{vdiskId}' is already assigned to NBD server '{serverId}'", ct);
    }

    /// <summary>Removes a vdisk from the server's exports; the server stops serving it and releases its owner key.</summary>
    public Task<AdminResult> UnassignAsync(string serverId, string vdiskId, CancellationToken ct) =>
        ChangeExportsAsync(serverId, vdisks => vdisks.Contains(vdiskId) ? vdisks.Where(v => v != vdiskId).ToList() : null,
            $"vdisk '{vdiskId}' removed from NBD server '{serverId}'", $"vdisk '{vdiskId}' is not assigned to NBD server '{serverId}'", ct);

    private async Task<AdminResult> ChangeExportsAsync(string serverId, Func<IReadOnlyList<string>, IReadOnlyList<string>?> change, string done, string unchanged,
        CancellationToken ct)
    {
        var key = EtcdKeys.NbdServerVdisks(serverId);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var kv = await etcd.GetAsync(key, ct);
            var vdisks = kv is null ? [] : ZeroDiskJson.Deserialize<NbdServerVdisksConfig>(kv.Value.ToStringUtf8()).Vdisks ?? [];
            if (change(vdisks) is not { } next) return new AdminResult(200, unchanged);
            var transaction = new EtcdTransaction().ExpectModRevision(key, kv?.ModRevision ?? 0).Put(key, ZeroDiskJson.Serialize(new NbdServerVdisksConfig(next)));
            if (await transaction.CommitAsync(etcd, ct)) return new AdminResult(200, done, next);
        }
        return new AdminResult(409, $"NBD server '{serverId}''s exports kept changing; try again");
    }

    /// <summary>(Re)starts the NBD server on the node's agent; the agent waits for a repair of one of its vdisks to end first.</summary>
    public async Task<AdminResult> StartNbdServerAsync(string serverId, StartServerRequest request, CancellationToken ct)
    {
        if (!ConfigValidation.IsValidId(serverId)) return new AdminResult(400, $"server id '{serverId}' must be 1-128 letters, digits, '-', '_' or '.'");
        if (await etcd.GetAsync(EtcdKeys.NbdServerVdisks(serverId), ct) is null)
            return new AdminResult(409, $"NBD server '{serverId}' has no vdisks: assign one first");
        if (await AgentRefusalAsync(request, ct) is { } refused) return refused;
        await (await bus.GetSendEndpoint(AgentQueues.Address(request.Node))).Send(new RestartNbdServer { Node = request.Node, ServerId = serverId }, ct);
        return new AdminResult(202, $"NBD server '{serverId}' (re)started by the agent of node '{request.Node}'");
    }

    /// <summary>(Re)starts the tlog server listening on <paramref name="address"/> on the node's agent.</summary>
    public async Task<AdminResult> StartTlogServerAsync(string address, StartServerRequest request, CancellationToken ct)
    {
        if (!ConfigValidation.IsHostPort(address)) return new AdminResult(400, $"tlog server '{address}' must be host:port");
        if (await AgentRefusalAsync(request, ct) is { } refused) return refused;
        await (await bus.GetSendEndpoint(AgentQueues.Address(request.Node))).Send(new RestartTlogServer { Node = request.Node, ServerId = address }, ct);
        return new AdminResult(202, $"tlog server {address} (re)started by the agent of node '{request.Node}'");
    }

    /// <summary>A command for a node whose agent is not registered would sit on an exchange no queue is bound to yet: refused.</summary>
    private async Task<AdminResult?> AgentRefusalAsync(StartServerRequest request, CancellationToken ct)
    {
        if (!ConfigValidation.IsValidId(request.Node)) return new AdminResult(400, $"node '{request.Node}' must be 1-128 letters, digits, '-', '_' or '.'");
        return await etcd.GetAsync(EtcdKeys.Agent(request.Node), ct) is null
            ? new AdminResult(409, $"no agent is registered for node '{request.Node}' (zerodisk/agents/{request.Node}): start 'nbdhost agent --node {request.Node}' first")
            : null;
    }
}
