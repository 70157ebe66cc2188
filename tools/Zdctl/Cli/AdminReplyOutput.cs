namespace ZeroDisk.Zdctl.Cli;

/// <summary>How an admin API answer ends a command: the message on stdout when it succeeded, on stderr with the status when refused.</summary>
public static class AdminReplyOutput
{
    public static int Report(AdminReply reply)
    {
        if (reply.Status == 401)
            throw new ZdctlException(ExitCodes.Refused, $"refused (401): {reply.Message} (zdctl: --token-file, --token, ${GlobalOptions.TokenFileVariable} or ${GlobalOptions.TokenVariable})");
        if (!reply.Succeeded)
            throw new ZdctlException(reply.Status == 400 ? ExitCodes.BadInput : ExitCodes.Refused, $"refused ({reply.Status}): {reply.Message}");
        Console.Out.WriteLine(reply.Message);
        foreach (var line in reply.Detail) Console.Out.WriteLine($"  {line}");
        return ExitCodes.Ok;
    }
}
