namespace ZeroDisk.LocalStack;

/// <summary>Runs a command line tool (qemu-io, nbdinfo, fio, zdctl, …) to completion with a deadline.</summary>
public static class ExternalProcess
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public Result EnsureSuccess(string what) =>
            ExitCode == 0 ? this : throw new InvalidOperationException($"{what} exited {ExitCode}\nstdout: {StdOut}\nstderr: {StdErr}");
    }

    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> args, TimeSpan? timeout = null,
        IDictionary<string, string>? environment = null, string? stdin = null)
    {
        await using var running = BackgroundProcess.Start(fileName, args, environment, redirectStdin: stdin is not null);
        var process = running.Process;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish within {timeout}; stderr so far: {running.StdErr}");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, running.StdOut, running.StdErr);
    }

    public static Task<Result> ShellAsync(string script, TimeSpan? timeout = null) => RunAsync("/bin/bash", ["-c", script], timeout);
}
