using Microsoft.Extensions.Logging;

namespace ZeroDisk.NodeAgent;

/// <summary>
/// The NBD-server starts this agent acknowledged and has not done yet, one file each under the state directory. A
/// restart command is acknowledged when its launch is queued (the launch may wait for a repair to end); an agent
/// killed before the start would otherwise lose it, and the crashed server would stay down with nobody to restart
/// it. The next agent on the node resumes every start recorded here.
/// </summary>
public sealed class PendingLaunches(AgentOptions options, ILogger<PendingLaunches> logger)
{
    private string Directory => Path.Combine(options.StateDirectory, "pending-launches");

    /// <summary>Recorded durably before the command is acknowledged.</summary>
    public void Record(string serverId)
    {
        System.IO.Directory.CreateDirectory(Directory);
        using var file = new FileStream(PathOf(serverId), FileMode.Create, FileAccess.Write);
        file.Write(System.Text.Encoding.UTF8.GetBytes(DateTimeOffset.UtcNow.ToString("O") + "\n"));
        file.Flush(flushToDisk: true);
    }

    public void Clear(string serverId)
    {
        try
        {
            File.Delete(PathOf(serverId));
        }
        catch (IOException ex)
        {
            logger.LogWarning(ex, "Could not clear the pending start of NBD server {Server}; the next agent starts it again", serverId);
        }
    }

    public IReadOnlyList<string> List() =>
        System.IO.Directory.Exists(Directory) ? System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName).OfType<string>().ToList() : [];

    // Server ids are names the operator chose; one that is not a plain file name is refused rather than escaped.
    private string PathOf(string serverId) =>
        serverId.Length > 0 && serverId.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && serverId is not ("." or "..")
            ? Path.Combine(Directory, serverId)
            : throw new ArgumentException($"NBD server id '{serverId}' cannot name a file", nameof(serverId));
}
