using System.Net.Http.Json;
using ZeroDisk.Drill;
using ZeroDisk.LocalStack;

namespace ZeroDisk.FaultCheck;

/// <summary>
/// Three tlog servers (two on node 1, one on node 2, so k = 2 acknowledgements survive one crash) that vd1 journals
/// to, set up through the admin API as an operator would. Only runs whose schedule has a
/// <see cref="FaultKind.TlogKill"/> have them (CI's seeds keep the stack they were chosen on).
/// </summary>
public sealed record TlogSetup(string ClusterId, IReadOnlyList<(int Node, string Address)> Servers)
{
    public static async Task<TlogSetup> StartAsync(DrillStack stack, HttpClient admin, Func<string, Func<Task<bool>>, TimeSpan, Task<bool>> wait, CancellationToken ct)
    {
        var tlog = new TlogSetup($"{stack.Id}-tlog", new[] { 1, 1, 2 }.Select(n => (n, $"127.0.0.1:{FreePort.Next()}")).ToList());
        await PostAsync(admin, "tlogclusters", new { id = tlog.ClusterId, servers = tlog.Servers.Select(s => s.Address).ToArray() }, ct);
        foreach (var (node, address) in tlog.Servers) await PostAsync(admin, $"tlogservers/{address}/start", new { node = stack.Node(node) }, ct);
        if (!await wait("the tlog servers to listen", async () => (await Task.WhenAll(tlog.Servers.Select(s => AcceptsAsync(s.Address)))).All(a => a), TimeSpan.FromMinutes(3)))
            throw new InvalidOperationException($"tlog servers {string.Join(", ", tlog.Servers.Select(s => s.Address))} did not listen within 3 min");
        return tlog;
    }

    private static async Task PostAsync(HttpClient admin, string path, object body, CancellationToken ct)
    {
        // Set-up calls wait for the bus: on a loaded machine far longer than the 10 s the checker allows a query.
        using var patient = new HttpClient { BaseAddress = admin.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        patient.DefaultRequestHeaders.Authorization = admin.DefaultRequestHeaders.Authorization;
        using var response = await patient.PostAsJsonAsync(path, body, ct);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST /{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    private static async Task<bool> AcceptsAsync(string address)
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            var parts = address.Split(':');
            await client.ConnectAsync(parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)).WaitAsync(TimeSpan.FromSeconds(3));
            return true;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or TimeoutException)
        {
            return false;
        }
    }
}
