using dotnet_etcd;
using MassTransit;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageClusters;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.ClusterState.VdiskRepairs;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Admin;

/// <summary>The operator's HTTP view: clusters, engines, vdisks, repairs with state, progress and history; vdisk create/delete; declare an outage.</summary>
public static class AdminApi
{
    public static WebApplication MapAdminApi(this WebApplication app)
    {
        app.MapGet("/clusters", ListClustersAsync);
        app.MapGet("/engines", ListEnginesAsync);
        app.MapGet("/vdisks", ListVdisksAsync);
        app.MapGet("/repairs", async (SagaStore sagas, CancellationToken ct) => Results.Ok(await sagas.ListAsync<VdiskRepairSaga>(ct)));
        app.MapPost("/vdisks", async (CreateVdiskRequest request, VdiskAdmin admin, CancellationToken ct) => ToResult(await admin.CreateAsync(request, ct)));
        app.MapDelete("/vdisks/{id}", async (string id, VdiskAdmin admin, CancellationToken ct) => ToResult(await admin.DeleteAsync(id, ct)));
        app.MapPost("/engines/{address}/outage", DeclareOutageAsync);
        return app;
    }

    private static async Task<IResult> ListClustersAsync(ClusterTopology topology, SagaStore sagas, EtcdClient etcd, CancellationToken ct)
    {
        var result = new List<object>();
        foreach (var cluster in await topology.ClustersAsync(ct))
        {
            var status = await etcd.GetAsync(EtcdKeys.ClusterStatus(cluster.ClusterId), ct);
            var saga = await sagas.GetAsync<StorageClusterSaga>(SagaIds.Cluster(cluster.ClusterId), ct);
            result.Add(new
            {
                cluster.ClusterId,
                Status = status?.Value.ToStringUtf8() ?? ClusterHealth.Derive(cluster.Config).ToWire(),
                cluster.Config.Servers,
                History = saga?.History ?? [],
            });
        }
        return Results.Ok(result);
    }

    private static async Task<IResult> ListEnginesAsync(SagaStore sagas, CancellationToken ct) =>
        Results.Ok((await sagas.ListAsync<StorageEngineSaga>(ct)).Select(e => new
        {
            e.Address,
            e.ClusterId,
            State = EngineStateNames.ToEngineState(e.CurrentState),
            e.Incident,
            e.IncidentTraceId,
            e.Outage,
            e.StateEnteredAt,
            Progress = new { Completed = e.CompletedVdisks.Count, Affected = e.AffectedVdisks.Count },
            e.AffectedVdisks,
            e.CompletedVdisks,
            e.ShardUnavailable,
            e.HeldOutage,
            e.HeldBecause,
            e.History,
        }));

    private static async Task<IResult> ListVdisksAsync(ClusterTopology topology, EtcdClient etcd, CancellationToken ct)
    {
        var result = new List<object>();
        foreach (var vdisk in await topology.VdisksAsync(ct))
        {
            var config = await etcd.GetAsync(EtcdKeys.VdiskStaticConfig(vdisk.VdiskId), ct);
            result.Add(new
            {
                vdisk.VdiskId,
                Static = config is null ? null : ZeroDiskJson.Deserialize<VdiskStaticConfig>(config.Value.ToStringUtf8()),
                vdisk.Nbd,
            });
        }
        return Results.Ok(result);
    }

    /// <summary>Operator override: the saga acts on DeclareOutage; the scheduler stops probing when it sees it.</summary>
    private static async Task<IResult> DeclareOutageAsync(string address, DeclareOutageRequest request, IBus bus, SagaStore sagas, ClusterTopology topology,
        CancellationToken ct)
    {
        if (!ConfigValidation.IsHostPort(address)) return Results.BadRequest(new { message = $"'{address}' must be host:port" });
        var engine = await sagas.GetAsync<StorageEngineSaga>(SagaIds.Engine(address), ct);
        if (engine is null) return Results.NotFound(new { message = $"engine {address} has no recorded outage" });
        if (request.Kind == OutageKind.Permanent && !request.Force
            && (await TwinEngines.OfAsync(topology, address, ct)).Where(t => t.State != EngineState.Online).ToList() is { Count: > 0 } down)
        {
            return Results.Json(new
            {
                message = $"twin engine(s) {string.Join(", ", down.Select(t => $"{t.Address} ({t.State.ToWire()})"))} are not online: {address} may hold the only "
                          + "complete copy of some blocks, and declaring it permanent would lose them. Repeat with \"force\": true to accept the data loss.",
            }, statusCode: StatusCodes.Status409Conflict);
        }
        await bus.Publish(new DeclareOutage { Address = address, Kind = request.Kind, Force = request.Force, Operator = request.Operator }, ct);
        return Results.Accepted($"/engines", new { message = $"outage of {address} declared {request.Kind.ToWire()}", engine.Incident });
    }

    internal static IResult ToResult(AdminResult result) =>
        Results.Json(new { message = result.Message, detail = result.Detail }, statusCode: result.Status);
}
