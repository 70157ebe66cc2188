using System.CommandLine;
using Grpc.Core;

namespace ZeroDisk.Zdctl.Cli;

/// <summary>
/// Runs a command's work with the services resolved from the global options, and turns every failure into one
/// line on stderr and an exit code (<see cref="ExitCodes"/>): an operator never sees a stack trace.
/// </summary>
public static class ZdctlAction
{
    public static void SetZdctlAction(this Command command, GlobalOptions globals, Func<ParseResult, ZdctlContext, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, ct) =>
        {
            ZdctlContext? context = null;
            try
            {
                context = globals.Resolve(parse);
                return await action(parse, context, ct);
            }
            catch (Exception ex)
            {
                var (code, message) = Describe(ex, context, ct);
                if (message.Length > 0) Console.Error.WriteLine($"zdctl: {ServiceDefaults.Security.SecretMasking.MaskUris(OneLine(message))}");
                return code;
            }
            finally
            {
                context?.Dispose();
            }
        });

    /// <summary>Parse errors (unknown option, missing argument, bad value): one line each, then where to look.</summary>
    public static int ReportParseErrors(ParseResult parse)
    {
        foreach (var error in parse.Errors) Console.Error.WriteLine($"zdctl: {OneLine(error.Message)}");
        Console.Error.WriteLine("zdctl: see 'zdctl --help'");
        return ExitCodes.BadInput;
    }

    private static (int Code, string Message) Describe(Exception ex, ZdctlContext? context, CancellationToken ct) => ex switch
    {
        ZdctlException z => (z.ExitCode, z.Message),
        // Ctrl-C: the operator asked to stop; nothing to explain.
        OperationCanceledException when ct.IsCancellationRequested => (ExitCodes.Ok, ""),
        OperationCanceledException => (ExitCodes.Unreachable, $"no answer in time from {context?.ServicesUsed}"),
        RpcException rpc when rpc.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded =>
            (ExitCodes.Unreachable, $"cannot reach etcd at {context?.EtcdEndpoints}: {rpc.Status.Detail}"),
        RpcException rpc => (ExitCodes.Refused, $"etcd at {context?.EtcdEndpoints} answered {rpc.StatusCode}: {rpc.Status.Detail}"),
        HttpRequestException http => (ExitCodes.Unreachable, $"cannot reach {context?.ServicesUsed}: {http.Message}"),
        System.Text.Json.JsonException json => (ExitCodes.Refused, $"unexpected value in etcd: {json.Message}"),
        _ => (ExitCodes.Refused, $"{ex.GetType().Name}: {ex.Message}"),
    };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
