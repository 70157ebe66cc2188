using System.Net.Http.Json;

namespace ZeroDisk.LocalStack;

/// <summary>
/// A private RabbitMQ virtual host per test deployment: other tests (and other helpers' services) publishing the
/// same contracts never reach this test's queues, and deleting the vhost removes every queue it created.
/// </summary>
public sealed class RabbitMqVirtualHost : IAsyncDisposable
{
    private readonly HttpClient _http;

    private RabbitMqVirtualHost(HttpClient http, string name, Uri uri)
    {
        _http = http;
        Name = name;
        Uri = uri;
    }

    public string Name { get; }
    public Uri Uri { get; }

    public static async Task<RabbitMqVirtualHost> CreateAsync(InfrastructureEndpoints endpoints, string name)
    {
        if (endpoints.RabbitMqManagementUrl is null) throw new InvalidOperationException("RABBITMQ_MANAGEMENT_URL is needed to create a test vhost");
        var http = RabbitMqManagement.Client(endpoints);
        (await http.PutAsync($"api/vhosts/{name}", null)).EnsureSuccessStatusCode();
        var username = Uri.UnescapeDataString(endpoints.RabbitMqUri.UserInfo).Split(':')[0] is { Length: > 0 } user ? user : "guest";
        (await http.PutAsJsonAsync($"api/permissions/{name}/{username}", new { configure = ".*", write = ".*", read = ".*" })).EnsureSuccessStatusCode();
        var uri = new UriBuilder(endpoints.RabbitMqUri) { Path = "/" + name }.Uri;
        return new RabbitMqVirtualHost(http, name, uri);
    }

    public async Task<IReadOnlyList<string>> QueueNamesAsync()
    {
        var queues = await _http.GetFromJsonAsync<List<QueueInfo>>($"api/queues/{Name}") ?? [];
        return queues.Select(q => q.Name).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var queue in await QueueNamesAsync())
            await _http.DeleteAsync($"api/queues/{Name}/{Uri.EscapeDataString(queue)}");
        await _http.DeleteAsync($"api/vhosts/{Name}");
        _http.Dispose();
    }

    private sealed record QueueInfo(string Name);
}
