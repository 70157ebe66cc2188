using System.CommandLine;
using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Follow;

/// <summary>
/// <c>zdctl follow</c>: one line per engine transition as it is committed, until Ctrl-C (or --timeout);
/// <c>--once</c> prints the transitions recorded so far and exits.
/// </summary>
public static class FollowCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var once = new Option<bool>("--once") { Description = "print the transitions recorded so far (oldest first) and exit" };
        var history = new Option<bool>("--history") { Description = "print the transitions recorded so far before following" };
        var timeout = new Option<double?>("--timeout") { Description = "stop following after this many seconds (exit 0)" };
        var json = new Option<bool>("--json") { Description = "one JSON object per line" };
        var command = new Command("follow", "follow incidents: one line per engine transition (time, engine, from -> to, incident, trace)") { once, history, timeout, json };
        command.Validators.Add(result =>
        {
            if (result.GetValue(timeout) is <= 0) result.AddError("--timeout must be a positive number of seconds");
        });
        command.SetZdctlAction(globals, async (parse, context, ct) =>
        {
            var print = parse.GetValue(json) ? (Action<EngineTransition>)(t => Console.Out.WriteLine(t.ToJson())) : t => Console.Out.WriteLine(t.ToLine());
            var follower = new TransitionFollower(context.Etcd(), context.EtcdEndpoints, context.Scope);
            var (recorded, revision) = await follower.ReadRecordedAsync(ct);
            if (parse.GetValue(once) || parse.GetValue(history))
                foreach (var transition in recorded) print(transition);
            if (parse.GetValue(once)) return ExitCodes.Ok;

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (parse.GetValue(timeout) is { } seconds) stop.CancelAfter(TimeSpan.FromSeconds(seconds));
            Console.Error.WriteLine($"zdctl: following engine transitions from etcd revision {revision} (Ctrl-C to stop)");
            string? lastError = null;
            await follower.WatchAsync(revision, print, error =>
            {
                // The watch reconnects by itself; say so once per kind of failure, not on every retry.
                if (error.Message == lastError) return;
                lastError = error.Message;
                Console.Error.WriteLine($"zdctl: etcd watch interrupted, retrying: {error.Message.ReplaceLineEndings(" ")}");
            }, stop.Token);
            return ExitCodes.Ok;
        });
        return command;
    }
}
