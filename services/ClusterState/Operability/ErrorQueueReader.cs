using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ZeroDisk.ServiceDefaults.Messaging;

namespace ZeroDisk.ClusterState.Operability;

/// <summary>
/// The depth of every <c>*_error</c> queue (MassTransit moves a message there once its retries are spent) in the bus's
/// virtual host, from RabbitMQ's management API (<c>RABBITMQ_MANAGEMENT_URL</c>, with RABBITMQ_URI's user). Without a
/// management URL there is nothing to read: the gauge is absent and no health check is made of it.
/// </summary>
public sealed class ErrorQueueReader : IDisposable
{
    public const string ManagementUrlKey = "RABBITMQ_MANAGEMENT_URL";
    public const string ErrorSuffix = "_error";

    private readonly HttpClient? _http;
    private readonly string _vhost = "/";

    public ErrorQueueReader(IConfiguration configuration)
    {
        if (configuration[ManagementUrlKey] is not { Length: > 0 } url || configuration[MessagingOptions.UriKey] is not { Length: > 0 } bus) return;
        var busUri = new Uri(bus);
        _vhost = busUri.AbsolutePath.Trim('/') is { Length: > 0 } path ? Uri.UnescapeDataString(path) : "/";
        _http = new HttpClient { BaseAddress = new Uri(url.EndsWith('/') ? url : url + "/"), Timeout = TimeSpan.FromSeconds(3) };
        var user = busUri.UserInfo.Split(':', 2);
        if (user[0].Length > 0)
        {
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.UnescapeDataString(user[0])}:{(user.Length > 1 ? Uri.UnescapeDataString(user[1]) : "")}"));
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", credentials);
        }
    }

    public bool Configured => _http is not null;

    /// <returns>The error queues and their depth, or null when not configured or the API did not answer.</returns>
    public async Task<IReadOnlyList<ErrorQueueObservation>?> ReadAsync(CancellationToken ct)
    {
        if (_http is null) return null;
        try
        {
            using var response = await _http.GetAsync($"api/queues/{Uri.EscapeDataString(_vhost)}?columns=name,messages", ct);
            if (!response.IsSuccessStatusCode) return null;
            using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct));
            return json.RootElement.EnumerateArray()
                .Select(q => (Name: q.GetProperty("name").GetString() ?? "", Messages: q.TryGetProperty("messages", out var m) && m.ValueKind == JsonValueKind.Number ? m.GetInt64() : 0))
                .Where(q => q.Name.EndsWith(ErrorSuffix, StringComparison.Ordinal))
                .Select(q => new ErrorQueueObservation(q.Name, q.Messages))
                .ToList();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return null;
        }
    }

    public void Dispose() => _http?.Dispose();
}
