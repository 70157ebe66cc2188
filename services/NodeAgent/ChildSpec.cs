using System.Text.RegularExpressions;
using ZeroDisk.Contracts;

namespace ZeroDisk.NodeAgent;

/// <summary>
/// A child the agent runs: its role, its id (server id, or tlog address) and its command line.
/// <paramref name="ReportsExit"/> is false for a repair job's server: its exit ends the job (the job runner acts on
/// it), it is not a crash for the scheduler to restart.
/// </summary>
public sealed partial record ChildSpec(ProcessRole Role, string Id, IReadOnlyList<string> Arguments, bool ReportsExit = true)
{
    /// <summary>"nbdserver-vm1": the stem of the child's log and state files.</summary>
    public string Name => NameOf(Role, Id);

    public static string NameOf(ProcessRole role, string id)
    {
        if (!SafeId().IsMatch(id)) throw new ArgumentException($"'{id}' is not a valid child id (letters, digits, . _ - : only)", nameof(id));
        return $"{role.ToWire()}-{id}";
    }

    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,200}$")]
    private static partial Regex SafeId();
}

/// <summary>
/// Where a child's files live. The log file is the child's stderr and stdout (the node's log stream, tailed by
/// the LogCollector); the state files let a restarted agent adopt it: the pid (written by the wrapper), the
/// record (pid + kernel start time, to never mistake a reused pid), and the exit status (written by the wrapper).
/// </summary>
public sealed record ChildPaths(string LogFile, string PidFile, string StatusFile, string RecordFile)
{
    public static ChildPaths For(string logDirectory, string stateDirectory, string name) => new(
        Path.Combine(logDirectory, name + ".log"),
        Path.Combine(stateDirectory, name + ".pid"),
        Path.Combine(stateDirectory, name + ".status"),
        Path.Combine(stateDirectory, name + ".json"));
}

/// <summary>What the agent remembers of a running child (the <see cref="ChildPaths.RecordFile"/>).</summary>
public sealed record ChildRecord(ProcessRole Role, string Id, int Pid, long StartTime, IReadOnlyList<string> Arguments, bool ReportsExit = true);
