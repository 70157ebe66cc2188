using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.ClusterState.Operability;

public static class OperabilityExtensions
{
    /// <summary>The cluster observer, its gauges and what it reads with (engine connections, the broker's management API).</summary>
    public static WebApplicationBuilder AddOperability(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ObserverOptions>(ObserverOptions.Section);
        builder.Services.AddSingleton<DirtyBlockCounter>();
        builder.Services.AddSingleton<ErrorQueueReader>();
        builder.Services.AddSingleton<ClusterObserver>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterObserver>());
        builder.Services.AddSingleton<ClusterMetrics>();
        return builder;
    }

    /// <summary>Maps the operators' reads and creates the gauges (the meter exists once the app does).</summary>
    public static WebApplication MapOperability(this WebApplication app)
    {
        app.Services.GetRequiredService<ClusterMetrics>();
        app.MapOperabilityApi();
        return app;
    }
}
