namespace ZeroDisk.NodeAgent;

/// <summary>
/// The few lines of sh that sit between the agent and a child. Started through <c>setsid</c>, it runs in its own
/// session, so neither it nor the child dies with the agent. It makes the log file the child's stderr/stdout
/// directly (no pipe through the agent), records the child's pid, waits for it and records its exit status —
/// the one thing a process that is not the parent (a restarted agent) cannot learn from the kernel.
/// Killed by signal N, the status is 128+N (the shell's convention: 139 for a segfault).
/// </summary>
internal static class ChildWrapper
{
    private const string Script = """
        log=$1; pidf=$2; statf=$3; shift 3
        exec </dev/null >>"$log" 2>&1
        "$@" &
        child=$!
        echo "$child" > "$pidf"
        wait "$child"
        echo "$?" > "$statf"
        """;

    public static IReadOnlyList<string> Arguments(ChildPaths paths, IReadOnlyList<string> command) =>
        ["sh", "-c", Script, "zerodisk-child", paths.LogFile, paths.PidFile, paths.StatusFile, .. command];
}
