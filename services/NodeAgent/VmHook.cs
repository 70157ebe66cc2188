using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ZeroDisk.NodeAgent;

/// <summary>Restarts a VM through the node's configured hook command (the agent knows no hypervisor).</summary>
public sealed class VmHook(AgentOptions options, ILogger<VmHook> logger)
{
    public async Task<bool> RunAsync(string serverId, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(options.VmHook))
        {
            logger.LogWarning("no VM hook configured: VM of NBD server {Server} not restarted", serverId);
            return false;
        }
        var arguments = CommandTemplate.Expand(options.VmHook, new Dictionary<string, string> { ["server"] = serverId });
        if (!options.VmHook.Contains("{server}", StringComparison.Ordinal)) arguments = [.. arguments, serverId];
        var psi = new ProcessStartInfo(arguments[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments.Skip(1)) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start VM hook {arguments[0]}");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode == 0)
        {
            logger.LogInformation("VM hook restarted the VM of NBD server {Server}", serverId);
            return true;
        }
        logger.LogError("VM hook for NBD server {Server} exited {Code}: {Output} {Errors}", serverId, process.ExitCode, await output, await errors);
        return false;
    }
}
