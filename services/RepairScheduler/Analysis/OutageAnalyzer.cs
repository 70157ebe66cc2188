using System.Collections.Concurrent;
using System.Diagnostics;
using dotnet_etcd;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Work;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.RepairScheduler.Analysis;

/// <summary>
/// Runs one <see cref="OutageAnalysis"/> per offline engine and publishes its <see cref="OutageClassified"/>.
/// Each analysis is recorded in etcd (<see cref="SchedulerWorkStore"/>) before the offline transition is
/// acknowledged and deleted only after its classification is published, so a scheduler killed mid-analysis
/// resumes it on start (<see cref="WorkResumer"/>), with its original start time and inside the incident's trace.
/// Several scheduler instances may classify the same outage; ClusterState takes the first and ignores the rest.
/// </summary>
public sealed class OutageAnalyzer(
    EtcdClient etcd,
    SchedulerWorkStore work,
    IBus bus,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<OutageAnalyzer> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (string Incident, CancellationTokenSource Stop)> _running = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly EngineProbe _probe = new(options.Value.ProbeTimeout);

    public bool IsAnalysing(string address) => _running.ContainsKey(address);

    /// <summary>Records the analysis of an offline engine, then starts it; returns once it is recorded.</summary>
    public async Task StartAsync(StorageEngineStateChanged offline, string? traceParent, CancellationToken ct)
    {
        if (_running.TryGetValue(offline.Address, out var running) && running.Incident == offline.Incident) return;
        Launch(await work.RecordAsync(WorkKind.Analysis, offline, traceParent, time.GetUtcNow(), ct));
    }

    /// <summary>Continues a recorded analysis after a restart.</summary>
    public void Resume(WorkRecord record) => Launch(record);

    /// <summary>The engine left offline (classified, or declared by an operator): stop probing it and forget the work.</summary>
    public async Task StopAsync(string address, CancellationToken ct)
    {
        if (_running.TryRemove(address, out var running)) running.Stop.Cancel();
        await work.DeleteAsync(WorkKind.Analysis, address, incident: null, ct);
    }

    private void Launch(WorkRecord record)
    {
        var address = record.Change.Address;
        if (_running.TryGetValue(address, out var running))
        {
            if (running.Incident == record.Change.Incident) return;
            if (_running.TryRemove(address, out running)) running.Stop.Cancel();
        }
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token);
        if (!_running.TryAdd(address, (record.Change.Incident, cts)))
        {
            cts.Dispose();
            return;
        }
        _ = Task.Run(() => AnalyseAsync(record, cts));
    }

    private async Task AnalyseAsync(WorkRecord record, CancellationTokenSource cts)
    {
        var offline = record.Change;
        using var activity = SchedulerTelemetry.Source.StartActivity("analyse outage", ActivityKind.Internal, WorkTrace.Parent(record.TraceParent));
        activity?.SetTag("zerodisk.engine", offline.Address).SetTag("zerodisk.incident", offline.Incident);
        try
        {
            var db = await EngineDbAsync(offline.ClusterId, offline.Address, cts.Token);
            var identity = (await etcd.GetAsync(EtcdKeys.EngineIdentity(offline.Address), cancellationToken: cts.Token)).Kvs.FirstOrDefault()?.Value.ToStringUtf8();
            logger.LogInformation("Analysing outage of engine {Address} (cluster {Cluster}, incident {Incident}, since {Started:O}); identity marker {Marker}",
                offline.Address, offline.ClusterId, offline.Incident, record.StartedAt, identity ?? "not registered");
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
                cts.Token,
                record.StartedAt);
            logger.LogWarning("Engine {Address} outage is {Kind}: {Reason}", offline.Address, result.Kind.ToWire(), result.Reason);
            activity?.SetTag("zerodisk.outage", result.Kind.ToWire());
            await bus.Publish(new OutageClassified { Address = offline.Address, Kind = result.Kind, Incident = offline.Incident, Reason = result.Reason }, cts.Token);
            // Only now is the work done; killed before this line, the restarted scheduler classifies again (ClusterState
            // applies the first classification of an incident and ignores the rest).
            await work.DeleteAsync(WorkKind.Analysis, offline.Address, offline.Incident, cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            logger.LogInformation("Analysis of engine {Address} stopped ({Why})", offline.Address,
                _disposing.IsCancellationRequested ? "shutting down; it resumes on start" : "it left the offline state");
        }
        catch (Exception ex)
        {
            // The record stays: the next start resumes it, and the reconciler's republished offline state restarts it.
            logger.LogError(ex, "Analysis of engine {Address} failed", offline.Address);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
        }
        finally
        {
            if (_running.TryGetValue(offline.Address, out var mine) && mine.Stop == cts)
                _running.TryRemove(new KeyValuePair<string, (string, CancellationTokenSource)>(offline.Address, mine));
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
        _disposing.Cancel();
        return ValueTask.CompletedTask;
    }
}
