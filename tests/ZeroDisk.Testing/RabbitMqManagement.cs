using System.Net.Http.Json;
using System.Text.Json;

namespace ZeroDisk.Testing;

/// <summary>Deletes the durable queues a test left behind, so a later run's endpoints start clean (DESIGN §6).</summary>
public static class RabbitMqManagement
{
    public static async Task DeleteQueuesAsync(InfrastructureEndpoints endpoints, string nameFragment)
    {
        if (endpoints.RabbitMqManagementUrl is null) return;
        using var http = new HttpClient { BaseAddress = endpoints.RabbitMqManagementUrl };
        var user = Uri.UnescapeDataString(endpoints.RabbitMqUri.UserInfo);
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user.Length > 0 ? user : "guest:guest")));
        var queues = await http.GetFromJsonAsync<JsonElement>("api/queues/%2F?columns=name");
        foreach (var queue in queues.EnumerateArray())
        {
            var name = queue.GetProperty("name").GetString();
            if (name is not null && name.Contains(nameFragment, StringComparison.Ordinal))
                await http.DeleteAsync($"api/queues/%2F/{Uri.EscapeDataString(name)}");
        }
    }
}
