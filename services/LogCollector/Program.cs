using Microsoft.Extensions.Hosting;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Messaging;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults("logcollector");
builder.AddMessaging();

await builder.Build().RunAsync();
