namespace ZeroDisk.LocalStack;

/// <summary>Looks at processes that are not this process's children (supervised or orphaned ones) by pid.</summary>
public static class ProcessState
{
    /// <summary>Alive and not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }
}
