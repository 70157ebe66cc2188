using ZeroDisk.ClusterState.Admin;
using ZeroDisk.ClusterState.Operability;
using ZeroDisk.ClusterState.Setup;
using ZeroDisk.ClusterState.StatusPage;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Health;

namespace ZeroDisk.ClusterState.Extensions;

/// <summary>The whole service, built the same way by Program.cs and by in-process tests.</summary>
public static class ClusterStateApp
{
    /// <param name="configure">Extra services (tests add an in-memory trace exporter).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults("clusterstate");
        builder.AddClusterState();
        builder.AddOperability();
        builder.Services.AddStatusPage();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseAdminAuthentication();
        app.MapDefaultEndpoints();
        app.MapAdminApi();
        app.MapSetupApi();
        app.MapOperability();
        app.MapStatusPage();
        return app;
    }
}
