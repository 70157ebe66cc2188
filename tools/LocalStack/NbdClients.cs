using System.Globalization;
using System.Text.Json;

namespace ZeroDisk.LocalStack;

/// <summary>
/// The real NBD clients (libnbd's nbdinfo/nbdcopy/nbdsh, qemu-img/qemu-io, fio's nbd engine) wrapped for tests,
/// so the protocol tests (in-memory exports) and the storage tests (Redis exports) run the same client checks.
/// Every method throws with the tool's output when the tool fails.
/// </summary>
public static class NbdClients
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    public static string TcpUri(int port, string export) => $"nbd://127.0.0.1:{port}/{export}";

    public static string UnixUri(string socketPath, string export) => $"nbd+unix:///{export}?socket={socketPath}";

    /// <summary>Export names from <c>nbdinfo --list --json</c>.</summary>
    public static async Task<IReadOnlyList<string>> ListExportsAsync(string serverUri)
    {
        var result = (await ExternalProcess.RunAsync("nbdinfo", ["--list", "--json", serverUri], DefaultTimeout)).EnsureSuccess("nbdinfo --list");
        using var json = JsonDocument.Parse(result.StdOut);
        return json.RootElement.GetProperty("exports").EnumerateArray().Select(e => e.GetProperty("export-name").GetString()!).ToList();
    }

    /// <summary>The export's entry of <c>nbdinfo --json</c>: export-size, is_read_only, can_flush, can_multi_conn, …</summary>
    public static async Task<JsonElement> InfoAsync(string uri)
    {
        var result = (await ExternalProcess.RunAsync("nbdinfo", ["--json", uri], DefaultTimeout)).EnsureSuccess("nbdinfo --json");
        using var json = JsonDocument.Parse(result.StdOut);
        return json.RootElement.GetProperty("exports")[0].Clone();
    }

    /// <summary>"virtual-size" as <c>qemu-img info</c> reports it.</summary>
    public static async Task<long> QemuVirtualSizeAsync(string uri)
    {
        var result = (await ExternalProcess.RunAsync("qemu-img", ["info", "--output=json", uri], DefaultTimeout)).EnsureSuccess("qemu-img info");
        using var json = JsonDocument.Parse(result.StdOut);
        return json.RootElement.GetProperty("virtual-size").GetInt64();
    }

    /// <summary>
    /// Runs qemu-io commands (e.g. <c>write -P 0xab 0 64k</c>) in one session. qemu-io exits 0 even when a command
    /// fails, so the output is checked: any "failed" line (or a pattern mismatch) throws.
    /// </summary>
    public static async Task<string> QemuIoAsync(string uri, params string[] commands)
    {
        var output = await QemuIoUncheckedAsync(uri, commands);
        if (output.Contains("failed", StringComparison.Ordinal) || output.Contains("Pattern verification", StringComparison.Ordinal))
            throw new InvalidOperationException($"qemu-io {string.Join(" ; ", commands)} reported an error:\n{output}");
        return output;
    }

    /// <summary>qemu-io commands whose failures the caller wants to see (stdout and stderr together).</summary>
    public static async Task<string> QemuIoUncheckedAsync(string uri, params string[] commands)
    {
        var args = new List<string> { "-f", "raw" };
        foreach (var c in commands) { args.Add("-c"); args.Add(c); }
        args.Add(uri);
        var result = (await ExternalProcess.RunAsync("qemu-io", args, DefaultTimeout)).EnsureSuccess("qemu-io");
        return result.StdOut + result.StdErr;
    }

    /// <summary><c>nbdcopy</c> between files and NBD URIs (either side may be either).</summary>
    public static async Task CopyAsync(string source, string destination, params string[] extraArgs)
    {
        (await ExternalProcess.RunAsync("nbdcopy", [.. extraArgs, source, destination], TimeSpan.FromMinutes(4))).EnsureSuccess("nbdcopy");
    }

    /// <summary>
    /// Runs an nbdsh (Python) script with <c>h</c> connected to <paramref name="uri"/>; returns its stdout.
    /// nbdsh needs Debian's python3 (with the nbd module) first on PATH.
    /// </summary>
    public static async Task<string> NbdShAsync(string uri, string script)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/bin:/bin:" + Environment.GetEnvironmentVariable("PATH"),
        };
        var result = await ExternalProcess.RunAsync("nbdsh", ["-u", uri, "-c", script], DefaultTimeout, environment);
        return result.EnsureSuccess("nbdsh").StdOut;
    }

    /// <summary>One fio job with the nbd engine; returns fio's JSON report. Fails when fio reports an error (verify included).</summary>
    public static async Task<JsonElement> FioAsync(string uri, params string[] jobArgs)
    {
        var output = Path.Combine(Path.GetTempPath(), $"fio-{Guid.NewGuid():N}.json");
        try
        {
            // No verify state file: fio would drop one in the working directory, for a resume nobody does.
            string[] args = ["--name=zd", "--ioengine=nbd", $"--uri={uri}", "--output-format=json", $"--output={output}", "--verify_state_save=0", .. jobArgs];
            var result = await ExternalProcess.RunAsync("fio", args, TimeSpan.FromMinutes(3));
            var report = File.Exists(output) ? await File.ReadAllTextAsync(output) : "";
            if (result.ExitCode != 0) throw new InvalidOperationException($"fio exited {result.ExitCode}\n{result.StdErr}\n{report}");
            using var json = JsonDocument.Parse(report);
            foreach (var job in json.RootElement.GetProperty("jobs").EnumerateArray())
                if (job.GetProperty("error").GetInt32() != 0)
                    throw new InvalidOperationException($"fio job error {job.GetProperty("error").GetInt32()}\n{result.StdErr}");
            return json.RootElement.Clone();
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>Sum of one direction's bytes over every job of a fio report.</summary>
    public static long FioBytes(JsonElement report, string direction) =>
        report.GetProperty("jobs").EnumerateArray().Sum(j => j.GetProperty(direction).GetProperty("io_bytes").GetInt64());

    public static string Size(long bytes) => bytes.ToString(CultureInfo.InvariantCulture);
}
