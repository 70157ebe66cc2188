using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ServiceDefaults.Health;
using ZeroDisk.ServiceDefaults.Messaging;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults("clusterstate");
builder.AddEtcd();
builder.AddMessaging();

var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
