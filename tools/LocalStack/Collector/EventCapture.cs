using System.Collections.Concurrent;
using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Messaging;

namespace ZeroDisk.LocalStack.Collector;

/// <summary>One consumed message from this test's node.</summary>
public sealed record Received(Guid MessageId, string Key, object Message, EventSource Source, ActivityTraceId TraceId, long ReceivedAtTimestamp);

/// <summary>
/// A consumer on its own queue, over the shared RabbitMQ, of everything a collector publishes. Other tests publish
/// the same contracts at the same time, so it keeps only messages whose source is this test's node. It
/// deduplicates by MessageId the way a real consumer would, and remembers every delivery to tell duplicates apart.
/// </summary>
public sealed class EventCapture : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly InfrastructureEndpoints _endpoints;
    private readonly string _queue;

    private EventCapture(IHost host, InfrastructureEndpoints endpoints, string queue, Sink sink)
    {
        _host = host;
        _endpoints = endpoints;
        _queue = queue;
        Messages = sink;
    }

    public Sink Messages { get; }

    public static async Task<EventCapture> StartAsync(InfrastructureEndpoints endpoints, string node)
    {
        var queue = TestNames.Unique("lc-capture");
        var sink = new Sink(node);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [MessagingOptions.UriKey] = endpoints.RabbitMqUri.ToString() });
        builder.Services.AddSingleton(sink);
        builder.AddMessaging(bus => bus.AddConsumer<CapturingConsumer>().Endpoint(e => e.Name = queue));
        var host = builder.Build();
        await host.StartAsync();
        return new EventCapture(host, endpoints, queue, sink);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await RabbitMqManagement.DeleteEndpointsAsync(_endpoints, _queue);
    }

    public sealed class Sink(string node)
    {
        /// <summary>Called once per MessageId, on the consumer's thread (for latency measurements).</summary>
        public Action<Received>? OnFirstDelivery { get; set; }

        private readonly ConcurrentDictionary<Guid, Received> _byId = new();
        private readonly ConcurrentDictionary<string, ConcurrentDictionary<Guid, byte>> _idsByKey = new();
        private long _deliveries;

        public string Node => node;
        public long Deliveries => Interlocked.Read(ref _deliveries);
        public int UniqueCount => _byId.Count;
        public IReadOnlyCollection<Received> Unique => _byId.Values.ToList();

        /// <summary>Keys that arrived under more than one MessageId: duplicates no MessageId dedup could catch.</summary>
        public IReadOnlyList<string> KeysWithSeveralIds => _idsByKey.Where(kv => kv.Value.Count > 1).Select(kv => kv.Key).ToList();

        public Received? ByKey(string key) =>
            _idsByKey.TryGetValue(key, out var ids) && ids.Keys.FirstOrDefault() is var id && _byId.TryGetValue(id, out var r) ? r : null;

        public IReadOnlyList<Received> AllByKey(string key) =>
            _idsByKey.TryGetValue(key, out var ids) ? ids.Keys.Select(id => _byId[id]).ToList() : [];

        internal void Add(ConsumeContext context, object message, EventSource source)
        {
            if (source.Node != node) return;
            var received = new Received(context.MessageId ?? Guid.Empty, EventLines.KeyOf(message), message, source,
                Activity.Current?.TraceId ?? default, Stopwatch.GetTimestamp());
            Interlocked.Increment(ref _deliveries);
            _idsByKey.GetOrAdd(received.Key, _ => new()).TryAdd(received.MessageId, 0);
            if (_byId.TryAdd(received.MessageId, received)) OnFirstDelivery?.Invoke(received);
        }

        /// <summary>
        /// Waits until <paramref name="condition"/> holds, for at most <paramref name="timeout"/>. With a
        /// <paramref name="stallTimeout"/>, it also gives up once no new message has arrived for that long: a lost line
        /// stops the progress for good, while a broker slowed by the rest of the suite only slows it.
        /// </summary>
        public async Task WaitForAsync(Func<Sink, bool> condition, TimeSpan timeout, string what, TimeSpan? stallTimeout = null)
        {
            var start = DateTime.UtcNow;
            var (lastProgress, seen) = (start, UniqueCount);
            while (!condition(this))
            {
                var now = DateTime.UtcNow;
                if (UniqueCount != seen) (lastProgress, seen) = (now, UniqueCount);
                if (now - start > timeout || now - lastProgress > stallTimeout)
                    throw new TimeoutException($"{what} not seen after {(now - start).TotalSeconds:F0} s, nothing new for {(now - lastProgress).TotalSeconds:F0} s ({UniqueCount} unique messages, {Deliveries} deliveries)");
                await Task.Delay(50);
            }
        }

        public Task WaitForKeysAsync(IEnumerable<string> keys, TimeSpan timeout, TimeSpan? stallTimeout = null)
        {
            var wanted = keys.ToList();
            return WaitForAsync(s => wanted.All(k => s._idsByKey.ContainsKey(k)), timeout, $"{wanted.Count} keys ({string.Join(", ", wanted.Take(5))}…)", stallTimeout);
        }
    }

    private sealed class CapturingConsumer(Sink sink) :
        IConsumer<StorageEngineFailureReported>, IConsumer<VdiskRepairCompleted>, IConsumer<ProcessExited>, IConsumer<LogLineForwarded>
    {
        public Task Consume(ConsumeContext<StorageEngineFailureReported> context) => Add(context, context.Message.Source);
        public Task Consume(ConsumeContext<VdiskRepairCompleted> context) => Add(context, context.Message.Source);
        public Task Consume(ConsumeContext<ProcessExited> context) => Add(context, context.Message.Source);
        public Task Consume(ConsumeContext<LogLineForwarded> context) => Add(context, context.Message.Source);

        private Task Add<T>(ConsumeContext<T> context, EventSource source) where T : class
        {
            sink.Add(context, context.Message, source);
            return Task.CompletedTask;
        }
    }
}
