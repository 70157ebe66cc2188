using System.Net.Http.Json;
using System.Text.Json;
using ZeroDisk.Contracts;

namespace ZeroDisk.Zdctl.Cli;

/// <summary>What the admin API answered: its status, its one-line message, and any detail lines (a purge report).</summary>
public sealed record AdminReply(int Status, string Message, IReadOnlyList<string> Detail, JsonElement Body)
{
    public bool Succeeded => Status is >= 200 and < 300;
}

/// <summary>ClusterState's admin API (services/ClusterState/Admin) over HTTP; an unreachable API becomes a one-line error.</summary>
public sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _baseUrl;

    /// <param name="token">The bearer token mutating calls carry (ClusterState:AdminToken); reads need none.</param>
    public AdminClient(Uri baseUrl, string? token = null, TimeSpan? timeout = null)
    {
        _baseUrl = baseUrl;
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = timeout ?? TimeSpan.FromSeconds(15) };
        if (!string.IsNullOrEmpty(token)) _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
    }

    public Task<AdminReply> PostAsync<T>(string path, T body, CancellationToken ct) =>
        SendAsync(() => _http.PostAsJsonAsync(path, body, ZeroDiskJson.Options, ct), ct);

    public Task<AdminReply> DeleteAsync(string path, CancellationToken ct) => SendAsync(() => _http.DeleteAsync(path, ct), ct);

    public Task<AdminReply> GetAsync(string path, CancellationToken ct) => SendAsync(() => _http.GetAsync(path, ct), ct);

    private async Task<AdminReply> SendAsync(Func<Task<HttpResponseMessage>> send, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await send();
        }
        catch (HttpRequestException ex)
        {
            throw new ZdctlException(ExitCodes.Unreachable, $"cannot reach ClusterState's admin API at {_baseUrl}: {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new ZdctlException(ExitCodes.Unreachable, $"ClusterState's admin API at {_baseUrl} did not answer within {_http.Timeout.TotalSeconds:0} s", ex);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            var body = TryParse(text);
            var message = Text(body, "message") ?? Text(body, "title") ?? (text.Length > 0 && body.ValueKind == JsonValueKind.Undefined ? text.Trim() : response.ReasonPhrase ?? "");
            return new AdminReply((int)response.StatusCode, message, Lines(body), body);
        }
    }

    private static JsonElement TryParse(string text)
    {
        try
        {
            return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static string? Text(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static IReadOnlyList<string> Lines(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.Array
            ? detail.EnumerateArray().Select(d => d.ToString()).ToList()
            : [];

    public void Dispose() => _http.Dispose();
}
