using ZeroDisk.ClusterState.Admin;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Health;

namespace ZeroDisk.ClusterState.Extensions;

/// <summary>The whole service, built the same way by Program.cs and by in-process tests.</summary>
public static class ClusterStateApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults("clusterstate");
        builder.AddClusterState();

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapAdminApi();
        return app;
    }
}
