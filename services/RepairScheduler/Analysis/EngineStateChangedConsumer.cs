using System.Diagnostics;
using MassTransit;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Repair;

namespace ZeroDisk.RepairScheduler.Analysis;

/// <summary>
/// Reacts to ClusterState's engine transitions: offline starts the analysis; a repair state starts a repair
/// campaign for the vdisks nobody serves; any other state ends what no longer applies. The background work
/// carries this message's trace, so an incident stays one trace.
/// </summary>
public sealed class EngineStateChangedConsumer(OutageAnalyzer analyzer, RepairCampaigns campaigns) : IConsumer<StorageEngineStateChanged>
{
    public Task Consume(ConsumeContext<StorageEngineStateChanged> context)
    {
        var change = context.Message;
        var trace = Activity.Current?.Context ?? default;
        if (change.To == EngineState.Offline) analyzer.Start(change, trace);
        else analyzer.Stop(change.Address);

        if (change.To is EngineState.RepairTmpOutage or EngineState.RepairFinalOutage) campaigns.Start(change, trace);
        else campaigns.Stop(change.Address);
        return Task.CompletedTask;
    }
}
