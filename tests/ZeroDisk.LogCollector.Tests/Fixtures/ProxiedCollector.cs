namespace ZeroDisk.LogCollector.Tests.Fixtures;

/// <summary>
/// An in-process collector that reaches the shared broker through a <see cref="TcpProxy"/> the test can stall or
/// wedge, a consumer capturing what is published for its node (directly, not through the proxy), and the lines the
/// test wrote, in order.
/// </summary>
public sealed class ProxiedCollector : IAsyncDisposable
{
    private readonly List<string> _keys = [];
    private readonly LogDirectory _directory;
    private readonly EventCapture _capture;
    private readonly InProcessCollector _collector;
    private readonly string _node;

    private ProxiedCollector(string node, LogDirectory directory, EventCapture capture, TcpProxy proxy, InProcessCollector collector)
    {
        (_node, _directory, _capture, Proxy, _collector) = (node, directory, capture, proxy, collector);
    }

    public TcpProxy Proxy { get; }

    public static async Task<ProxiedCollector> StartAsync(string prefix, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var node = TestNames.Unique(prefix);
        var directory = new LogDirectory();
        var capture = await EventCapture.StartAsync(endpoints, node);
        var proxy = new TcpProxy(endpoints.RabbitMqUri.Host, endpoints.RabbitMqUri.Port);
        proxy.Start();
        var viaProxy = endpoints with { RabbitMqUri = new UriBuilder(endpoints.RabbitMqUri) { Port = proxy.Port }.Uri };
        var collector = await InProcessCollector.StartAsync(viaProxy, node, directory.Path, overrides: overrides);
        return new ProxiedCollector(node, directory, capture, proxy, collector);
    }

    /// <summary>Appends event lines, each with a key of its own, to one log file.</summary>
    public void Write(int count)
    {
        var path = _directory.File("nbd-vm7.log");
        for (var i = 0; i < count; i++)
        {
            var (line, key) = EventLines.Event(_keys.Count % EventLines.EventKinds, $"{_node}-{_keys.Count}");
            _keys.Add(key);
            LogDirectory.AppendLine(path, line);
        }
    }

    /// <summary>The collector's own warnings and broker lines, for the test's output.</summary>
    public IEnumerable<string> BrokerLog => _collector.Log.Messages.Where(m => (m.Contains("roker") || m.Contains("Bus ")) && !m.Contains("S-FAULT")).Select(m => m.Length > 300 ? m[..300] : m);

    public Task WaitForLogAsync(string text) =>
        _capture.Messages.WaitForAsync(_ => _collector.Log.Messages.Any(m => m.Contains(text)), TimeSpan.FromSeconds(90), $"the collector's log line \"{text}\"");

    /// <summary>Every line written so far arrives, none under two ids, nothing else.</summary>
    public async Task ExpectEveryLinePublishedAsync(TimeSpan timeout)
    {
        try
        {
            await _capture.Messages.WaitForKeysAsync(_keys, timeout);
        }
        catch (TimeoutException stalled)
        {
            var missing = _keys.Count(k => _capture.Messages.ByKey(k) is null);
            var log = _collector.Log.Messages.Where(m => !m.StartsWith("Information: Bus") && !m.Contains("S-FAULT")).Take(40).Select(m => m.Length > 400 ? m[..400] : m);
            throw new Xunit.Sdk.XunitException($"{stalled.Message}: {missing} of {_keys.Count} lines not published\n" + string.Join("\n", log));
        }
        Assert.Empty(_capture.Messages.KeysWithSeveralIds);
        Assert.Equal(_keys.Count, _capture.Messages.UniqueCount);
    }

    public async ValueTask DisposeAsync()
    {
        await _collector.DisposeAsync();
        await Proxy.DisposeAsync();
        await _capture.DisposeAsync();
        _directory.Dispose();
    }
}
