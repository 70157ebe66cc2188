using Microsoft.Extensions.Hosting;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ServiceDefaults.Messaging;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults("repairscheduler");
builder.AddEtcd();
builder.AddMessaging();

await builder.Build().RunAsync();
