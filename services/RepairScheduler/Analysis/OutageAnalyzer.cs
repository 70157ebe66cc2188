using System.Collections.Concurrent;
using System.Diagnostics;
using dotnet_etcd;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.RepairScheduler.Analysis;

/// <summary>
/// Runs one <see cref="OutageAnalysis"/> per offline engine and publishes its <see cref="OutageClassified"/>.
/// Several scheduler instances may classify the same outage; ClusterState takes the first and ignores the rest.
/// </summary>
public sealed class OutageAnalyzer(
    EtcdClient etcd,
    IBus bus,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<OutageAnalyzer> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new();
    private readonly EngineProbe _probe = new(options.Value.ProbeTimeout);

    public bool IsAnalysing(string address) => _running.ContainsKey(address);

    public void Start(StorageEngineStateChanged offline, ActivityContext parent)
    {
        var cts = new CancellationTokenSource();
        if (!_running.TryAdd(offline.Address, cts))
        {
            cts.Dispose();
            return;
        }
        _ = Task.Run(() => AnalyseAsync(offline, parent, cts));
    }

    /// <summary>The engine left offline (classified, or declared by an operator): stop probing it.</summary>
    public void Stop(string address)
    {
        if (_running.TryRemove(address, out var cts)) cts.Cancel();
    }

    private async Task AnalyseAsync(StorageEngineStateChanged offline, ActivityContext parent, CancellationTokenSource cts)
    {
        using var activity = SchedulerTelemetry.Source.StartActivity("analyse outage", ActivityKind.Internal, parent);
        activity?.SetTag("zerodisk.engine", offline.Address).SetTag("zerodisk.incident", offline.Incident);
        try
        {
            var db = await EngineDbAsync(offline.ClusterId, offline.Address, cts.Token);
            var identity = (await etcd.GetAsync(EtcdKeys.EngineIdentity(offline.Address), cancellationToken: cts.Token)).Kvs.FirstOrDefault()?.Value.ToStringUtf8();
            logger.LogInformation("Analysing outage of engine {Address} (cluster {Cluster}, incident {Incident}); identity marker {Marker}",
                offline.Address, offline.ClusterId, offline.Incident, identity ?? "not registered");
            var last = ProbeOutcome.Healthy;
            var analysis = new OutageAnalysis(options.Value, time);
            var result = await analysis.RunAsync(
                ct => _probe.ProbeAsync(offline.Address, db, identity, ct),
                probe =>
                {
                    if (probe.Outcome != last)
                        logger.LogInformation("Engine {Address}: {Outcome} ({Reason})", offline.Address, probe.Outcome, probe.Reason);
                    last = probe.Outcome;
                },
                cts.Token);
            logger.LogWarning("Engine {Address} outage is {Kind}: {Reason}", offline.Address, result.Kind.ToWire(), result.Reason);
            activity?.SetTag("zerodisk.outage", result.Kind.ToWire());
            await bus.Publish(new OutageClassified { Address = offline.Address, Kind = result.Kind, Incident = offline.Incident, Reason = result.Reason }, cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            logger.LogInformation("Analysis of engine {Address} stopped: it left the offline state", offline.Address);
        }
        catch (Exception ex)
        {
            // The reconciler republishes the offline state, which starts the analysis again.
            logger.LogError(ex, "Analysis of engine {Address} failed", offline.Address);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
        }
        finally
        {
            _running.TryRemove(new KeyValuePair<string, CancellationTokenSource>(offline.Address, cts));
            cts.Dispose();
        }
    }

    private async Task<int> EngineDbAsync(string clusterId, string address, CancellationToken ct)
    {
        var cluster = await etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(clusterId), ct);
        return cluster?.Value.Servers.FirstOrDefault(s => s.Address == address)?.Db ?? 0;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var address in _running.Keys) Stop(address);
        return ValueTask.CompletedTask;
    }
}
