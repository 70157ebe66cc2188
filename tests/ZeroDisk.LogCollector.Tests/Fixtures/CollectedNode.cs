namespace ZeroDisk.LogCollector.Tests.Fixtures;

/// <summary>
/// What most collector tests start with: a unique node, its log directory, a consumer capturing what is published for
/// that node, and an in-process collector tailing the directory. Disposed in the reverse order.
/// </summary>
public sealed record CollectedNode(InfrastructureEndpoints Endpoints, string Node, LogDirectory Directory, EventCapture Capture, InProcessCollector Collector)
    : IAsyncDisposable
{
    /// <param name="prefix">The node name's prefix (a unique suffix is added), e.g. <c>lc-bad</c>.</param>
    public static async Task<CollectedNode> StartAsync(string prefix)
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var node = TestNames.Unique(prefix);
        var directory = new LogDirectory();
        EventCapture? capture = null;
        try
        {
            capture = await EventCapture.StartAsync(endpoints, node);
            var collector = await InProcessCollector.StartAsync(endpoints, node, directory.Path);
            return new CollectedNode(endpoints, node, directory, capture, collector);
        }
        catch
        {
            if (capture is not null) await capture.DisposeAsync();
            directory.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Collector.DisposeAsync();
        await Capture.DisposeAsync();
        Directory.Dispose();
    }
}
