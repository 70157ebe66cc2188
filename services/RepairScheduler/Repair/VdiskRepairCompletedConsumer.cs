using MassTransit;
using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Repair;

/// <summary>A vdisk that reported completion is not dispatched again in its campaign; acknowledged once recorded.</summary>
public sealed class VdiskRepairCompletedConsumer(RepairCampaigns campaigns) : IConsumer<VdiskRepairCompleted>
{
    public Task Consume(ConsumeContext<VdiskRepairCompleted> context) => campaigns.MarkCompletedAsync(context.Message, context.CancellationToken);
}
