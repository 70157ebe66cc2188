using System.Net.Http.Json;
using System.Text.Json;

namespace ZeroDisk.LocalStack;

/// <summary>
/// Removes what a test's (or a drill's) receive endpoints left on the shared broker (they would pile up across runs). MassTransit gives
/// every receive endpoint an exchange of the queue's name, bound from each contract's exchange: deleting only the
/// queue leaves that exchange, and every later publish of the contract is still routed to it. A suite's worth of
/// such dead ends (hundreds per contract) cut the broker's confirmed-publish rate tenfold here.
/// </summary>
public static class RabbitMqManagement
{
    /// <summary>Deletes the queues, then the exchanges, whose names contain <paramref name="nameFragment"/> (a unique test name).</summary>
    public static async Task DeleteEndpointsAsync(InfrastructureEndpoints endpoints, string nameFragment)
    {
        if (endpoints.RabbitMqManagementUrl is null) return;
        using var http = Client(endpoints);
        foreach (var kind in Kinds)
            foreach (var name in await NamesAsync(http, kind))
                if (name.Contains(nameFragment, StringComparison.Ordinal))
                    await http.DeleteAsync($"api/{kind}/%2F/{Uri.EscapeDataString(name)}");
    }

    /// <summary>Every queue and exchange of the default virtual host, as "queues/name" and "exchanges/name".</summary>
    public static async Task<IReadOnlySet<string>> EndpointNamesAsync(InfrastructureEndpoints endpoints)
    {
        var names = new HashSet<string>();
        if (endpoints.RabbitMqManagementUrl is null) return names;
        using var http = Client(endpoints);
        foreach (var kind in Kinds)
            foreach (var name in await NamesAsync(http, kind))
                names.Add($"{kind}/{name}");
        return names;
    }

    /// <summary>One line on the broker's load, for a failure message: what a slow confirm may be explained by.</summary>
    public static async Task<string> DescribeBrokerAsync(InfrastructureEndpoints endpoints)
    {
        if (endpoints.RabbitMqManagementUrl is null) return "broker: no management API";
        try
        {
            using var http = Client(endpoints);
            var overview = await http.GetFromJsonAsync<JsonElement>("api/overview");
            var node = (await http.GetFromJsonAsync<JsonElement>("api/nodes"))[0];
            var bindings = (await http.GetFromJsonAsync<JsonElement>("api/bindings/%2F")).GetArrayLength();
            return $"broker: {At(overview, "object_totals", "queues")} queues holding {At(overview, "queue_totals", "messages")} messages, "
                   + $"{At(overview, "object_totals", "exchanges")} exchanges, {bindings} bindings, {At(overview, "object_totals", "connections")} connections; "
                   + $"publish {At(overview, "message_stats", "publish_details", "rate")}/s, confirm {At(overview, "message_stats", "confirm_details", "rate")}/s, "
                   + $"deliver {At(overview, "message_stats", "deliver_get_details", "rate")}/s; memory alarm {At(node, "mem_alarm")}, "
                   + $"disk alarm {At(node, "disk_free_alarm")}, Erlang run queue {At(node, "run_queue")}";
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException or TaskCanceledException)
        {
            return $"broker: management API unreadable ({ex.Message})";
        }
    }

    // Statistics appear only once the broker has collected some: a missing one reads "?".
    private static string At(JsonElement element, params string[] path)
    {
        foreach (var name in path)
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out element)) return "?";
        return element.ToString();
    }

    private static readonly string[] Kinds = ["queues", "exchanges"];

    private static async Task<List<string>> NamesAsync(HttpClient http, string kind)
    {
        var listed = await http.GetFromJsonAsync<JsonElement>($"api/{kind}/%2F?columns=name");
        return listed.EnumerateArray().Select(item => item.GetProperty("name").GetString()).OfType<string>().Where(n => n.Length > 0).ToList();
    }

    /// <summary>A client of the management API, with the credentials of the broker's URI (guest:guest when it has none).</summary>
    public static HttpClient Client(InfrastructureEndpoints endpoints)
    {
        var http = new HttpClient { BaseAddress = endpoints.RabbitMqManagementUrl };
        var user = Uri.UnescapeDataString(endpoints.RabbitMqUri.UserInfo);
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user.Length > 0 ? user : "guest:guest")));
        return http;
    }
}
