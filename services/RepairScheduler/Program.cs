using Microsoft.Extensions.Hosting;
using ZeroDisk.RepairScheduler.Extensions;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Etcd;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults("repairscheduler");
builder.AddEtcd();
builder.AddRepairScheduler(builder.Configuration["Scheduler:EndpointPrefix"]);

await builder.Build().RunAsync();
