using ZeroDisk.ClusterState.Admin;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Setup;

/// <summary>The admin API's setup endpoints: storage and tlog clusters, engines, NBD servers' vdisks, starting servers.</summary>
public static class SetupApi
{
    public static WebApplication MapSetupApi(this WebApplication app)
    {
        app.MapPost("/clusters", async (CreateStorageClusterRequest request, StorageClusterSetup setup, CancellationToken ct) => Reply(await setup.CreateAsync(request, ct)));
        app.MapPost("/clusters/{id}/engines", async (string id, AddEngineRequest request, StorageClusterSetup setup, CancellationToken ct) =>
            Reply(await setup.AddEngineAsync(id, request, ct)));
        app.MapPost("/clusters/{id}/engines/{address}/replace", async (string id, string address, ReplaceEngineRequest request, StorageClusterSetup setup, CancellationToken ct) =>
            Reply(await setup.ReplaceEngineAsync(id, address, request, ct)));
        app.MapPost("/tlogclusters", async (CreateTlogClusterRequest request, ServerSetup setup, CancellationToken ct) => Reply(await setup.CreateTlogClusterAsync(request, ct)));
        app.MapPost("/nbdservers/{id}/vdisks/{vdisk}", async (string id, string vdisk, ServerSetup setup, CancellationToken ct) => Reply(await setup.AssignAsync(id, vdisk, ct)));
        app.MapDelete("/nbdservers/{id}/vdisks/{vdisk}", async (string id, string vdisk, ServerSetup setup, CancellationToken ct) => Reply(await setup.UnassignAsync(id, vdisk, ct)));
        app.MapPost("/nbdservers/{id}/start", async (string id, StartServerRequest request, ServerSetup setup, CancellationToken ct) =>
            Reply(await setup.StartNbdServerAsync(id, request, ct)));
        app.MapPost("/tlogservers/{address}/start", async (string address, StartServerRequest request, ServerSetup setup, CancellationToken ct) =>
            Reply(await setup.StartTlogServerAsync(address, request, ct)));
        return app;
    }

    private static IResult Reply(AdminResult result) => AdminApi.ToResult(result);
}
