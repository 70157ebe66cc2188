using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Work;

namespace ZeroDisk.RepairScheduler.Repair;

/// <summary>
/// Verifies a repair when ClusterState asks and publishes the verdict. Leftover vdisks are
/// reopened in the engine's campaign first, so they are dispatched again by the time ClusterState sees the verdict.
/// The scan runs inside the consumer: the request is acknowledged only after the verdict is published, so a
/// scheduler killed mid-scan gets it again.
/// </summary>
public sealed class RepairVerificationRequestedConsumer(RepairVerifier verifier, RepairCampaigns campaigns, ILogger<RepairVerificationRequestedConsumer> logger)
    : IConsumer<RepairVerificationRequested>
{
    public async Task Consume(ConsumeContext<RepairVerificationRequested> context)
    {
        var request = context.Message;
        // A child of the transition into the repair state, so the verification is part of the incident's trace.
        using var activity = request.TraceParent is null
            ? SchedulerTelemetry.Source.StartActivity("verify repair")
            : SchedulerTelemetry.Source.StartActivity("verify repair", ActivityKind.Internal, WorkTrace.Parent(request.TraceParent));
        activity?.SetTag("zerodisk.engine", request.Address).SetTag("zerodisk.incident", request.Incident).SetTag("zerodisk.repair", request.Kind.ToWire());
        var verdict = await verifier.VerifyAsync(request, context.CancellationToken);
        activity?.SetTag("zerodisk.verified_clean", verdict.Clean);
        if (verdict.Clean)
            logger.LogInformation("Repair of engine {Address} ({Kind}, incident {Incident}) verified clean: {Reason}", request.Address, request.Kind.ToWire(), request.Incident, verdict.Reason);
        else
        {
            logger.LogWarning("Repair of engine {Address} ({Kind}, incident {Incident}) is not clean: {Reason}", request.Address, request.Kind.ToWire(), request.Incident, verdict.Reason);
            activity?.SetStatus(ActivityStatusCode.Error, verdict.Reason);
            if (verdict.LeftoverVdisks.Count > 0) await campaigns.ReopenAsync(request.Address, request.Incident, verdict.LeftoverVdisks, context.CancellationToken);
        }
        await context.Publish(verdict, context.CancellationToken);
    }
}
