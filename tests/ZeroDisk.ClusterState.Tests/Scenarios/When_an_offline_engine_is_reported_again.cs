using System.Diagnostics.Metrics;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Operability;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>
/// Every NBD server that saw a failure reports it; all reports but the first find the engine offline, where a report
/// changes nothing. They are recorded as processed without running the saga, and nothing else changes.
/// </summary>
public sealed class When_an_offline_engine_is_reported_again
{
    [Fact]
    public async Task Each_report_is_recorded_once_without_touching_the_saga()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var engine = deployment.NewEngineAddress();
        var clusterId = await deployment.SeedClusterAsync("c1", engine, deployment.NewEngineAddress());
        await deployment.ReportFailureAsync(engine);
        await deployment.WaitForEngineAsync(clusterId, engine, EngineState.Offline);
        var sagaKey = EtcdSagaSession<StorageEngineSaga>.Key(SagaIds.Engine(engine));
        var before = await deployment.Etcd.GetAsync(sagaKey, CancellationToken.None);

        using var ignored = new IgnoredReportCount();
        var again = Enumerable.Range(0, 50).Select(_ => Guid.NewGuid()).ToArray();
        await Task.WhenAll(again.Select((id, i) => deployment.ReportFailureAsync(engine, node: $"nbd-{i}", messageId: id)));
        // The same 50 once more (a collector relaying its backlog again): already processed, nothing happens twice.
        await Task.WhenAll(again.Select((id, i) => deployment.ReportFailureAsync(engine, node: $"nbd-{i}", messageId: id)));

        await Eventually.UntilAsync(async () =>
        {
            foreach (var id in again)
                if (await deployment.Etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(id), CancellationToken.None) is null) return false;
            return true;
        }, "all 50 reports are recorded as processed", TimeSpan.FromSeconds(60));
        // At least these 50 (tests running beside this one may add theirs: the counter is the process's).
        await Eventually.UntilAsync(() => Task.FromResult(ignored.Total >= 50), "the reports were recorded without the saga", TimeSpan.FromSeconds(30));

        var after = await deployment.Etcd.GetAsync(sagaKey, CancellationToken.None);
        Assert.Equal(before!.ModRevision, after!.ModRevision);
        Assert.Equal(EngineState.Offline, await deployment.EngineStateAsync(clusterId, engine));
        Assert.Single((await deployment.EngineSagaAsync(engine))!.History);
    }

    [Theory]
    [InlineData(EngineStateNames.Offline, true)]
    [InlineData(EngineStateNames.RepairingFinalOutage, true)]
    [InlineData(EngineStateNames.Rip, true)]
    [InlineData(EngineStateNames.Online, false)] // a fresh report is a new incident
    [InlineData(EngineStateNames.RepairingTmpOutage, false)] // a fresh report interrupts the repair
    [InlineData("Initial", false)]
    [InlineData("NoSuchState", false)]
    public void Only_states_without_a_transition_for_a_report_skip_the_saga(string state, bool ignored)
    {
        var machine = new StorageEngineStateMachine(null!, null!, TimeProvider.System, new ClusterStateOptions());

        Assert.Equal(ignored, machine.IgnoresFailureReports(new StorageEngineSaga { CurrentState = state }));
    }

    /// <summary>Counts the reports the filter recorded without the saga, in this process, while it lives.</summary>
    private sealed class IgnoredReportCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public IgnoredReportCount()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ClusterMetrics.MeterName && instrument.Name == IgnoredFailureReportFilter.IgnoredName)
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
