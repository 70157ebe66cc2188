using Microsoft.Extensions.Hosting;
using ZeroDisk.LogCollector.Hosting;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Messaging;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults("logcollector");
builder.AddMessaging();
builder.AddLogCollector();

await builder.Build().RunAsync();
