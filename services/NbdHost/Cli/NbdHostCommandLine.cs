using System.CommandLine;

namespace ZeroDisk.NbdHost.Cli;

/// <summary>
/// <c>nbdhost</c>: the data plane on a node. Each verb is one process role and lives with the code
/// of that role.
/// </summary>
public static class NbdHostCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand("ZeroDisk data plane: NBD server over sharded, mirrored Redis storage");
        foreach (var command in Commands()) root.Subcommands.Add(command);
        return root;
    }

    private static IEnumerable<Command> Commands()
    {
        yield return ServeCommand.Create();
        yield return MemoryServeCommand.Create();
        yield return TlogCommand.Create();
        yield return ReplayCommand.Create();
        yield return AgentCommand.Create();
    }
}
