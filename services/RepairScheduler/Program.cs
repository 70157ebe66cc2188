using Microsoft.Extensions.Hosting;
using ZeroDisk.RepairScheduler;
using ZeroDisk.RepairScheduler.Extensions;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ServiceDefaults.Options;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults("repairscheduler", operationsUrl: "http://127.0.0.1:5081"); // /health/live, /health/ready, /metrics
builder.AddEtcd();
builder.AddRepairScheduler(builder.Configuration[$"{SchedulerOptions.Section}:{nameof(SchedulerOptions.EndpointPrefix)}"]);

return await InvalidConfiguration.RunAsync(builder.Build);
