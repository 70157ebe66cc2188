using ZeroDisk.Testing;

namespace ZeroDisk.LogCollector.Tests.Fixtures;

/// <summary>Deletes test queues through the management API, so the shared broker does not fill with them.</summary>
public static class RabbitMqQueues
{
    public static async Task DeleteAsync(InfrastructureEndpoints endpoints, params string[] queues)
    {
        if (endpoints.RabbitMqManagementUrl is null) return;
        using var http = new HttpClient { BaseAddress = endpoints.RabbitMqManagementUrl };
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String("guest:guest"u8.ToArray()));
        foreach (var queue in queues)
            await http.DeleteAsync($"api/queues/%2F/{Uri.EscapeDataString(queue)}");
    }
}
