using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.LogCollector.Hosting;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Messaging;
using ZeroDisk.ServiceDefaults.Options;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults("logcollector", operationsUrl: "http://127.0.0.1:5082"); // /health/live, /health/ready, /metrics
builder.AddMessaging();
builder.AddLogCollector();

return await InvalidConfiguration.RunAsync(() =>
{
    var host = builder.Build();
    host.Services.GetRequiredService<ZeroDisk.LogCollector.Telemetry.CollectorLag>(); // its gauges exist once it does
    return host;
});
