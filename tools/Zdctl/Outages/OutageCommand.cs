using System.CommandLine;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Outages;

/// <summary>
/// <c>zdctl outage declare &lt;engine&gt; --permanent|--temporary [--force]</c>: the operator override
/// (<c>POST /engines/{address}/outage</c>). A permanent declaration while a twin engine is down is refused unless forced.
/// </summary>
public static class OutageCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var address = new Argument<string>("engine-address") { Description = "the engine, host:port as in its cluster config" };
        var permanent = new Option<bool>("--permanent") { Description = "the engine is gone for good: respread its shard, then rip" };
        var temporary = new Option<bool>("--temporary") { Description = "the engine is back with its data: resync the dirty blocks" };
        var force = new Option<bool>("--force") { Description = "declare permanent even while a twin engine is down (accepts losing the blocks only this engine held)" };
        var operatorName = new Option<string>("--operator") { Description = "who declares it (recorded in the engine's history)", DefaultValueFactory = _ => Environment.UserName };
        var declare = new Command("declare", "declare an engine's outage permanent or temporary") { address, permanent, temporary, force, operatorName };
        declare.Validators.Add(result =>
        {
            if (result.GetValue(permanent) == result.GetValue(temporary)) result.AddError("say which outage it is: --permanent or --temporary");
            if (!ConfigValidation.IsHostPort(result.GetValue(address))) result.AddError($"engine address '{result.GetValue(address)}' must be host:port");
        });
        declare.SetZdctlAction(globals, async (parse, context, ct) =>
        {
            var engine = parse.GetValue(address)!;
            var request = new DeclareOutageRequest(parse.GetValue(permanent) ? OutageKind.Permanent : OutageKind.Temporary, parse.GetValue(force), parse.GetValue(operatorName)!);
            var reply = await context.Admin().PostAsync($"/engines/{Uri.EscapeDataString(engine)}/outage", request, ct);
            return AdminReplyOutput.Report(reply switch
            {
                { Succeeded: true } when reply.Body.TryGetProperty("incident", out var incident) => reply with { Message = $"{reply.Message} (incident {incident})" },
                // The API speaks of its JSON field; the operator types a flag.
                { Status: 409 } when !request.Force => reply with { Message = $"{reply.Message} (zdctl: --force)" },
                _ => reply,
            });
        });
        return new Command("outage", "operator overrides of an engine outage") { declare };
    }
}
