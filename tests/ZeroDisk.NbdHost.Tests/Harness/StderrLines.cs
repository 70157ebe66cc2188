namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>The stderr event lines of the seed, spelled out exactly as a test expects them.</summary>
public static class StderrLines
{
    public static string EngineFailure(string address) =>
        $"{{\"type\": \"storageengine-failure\", \"data\": \"{address}\"}}";

    public static string TmpRepairComplete(string address, string vdiskId) =>
        $"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{address}\", \"vdiskid\": \"{vdiskId}\"}}}}";

    /// <summary>An event line as the seed spells it: the real writer adds the event's time, which no test can predict.</summary>
    public static string WithoutTime(string line) =>
        StderrEventParser.Parse(line).Event is { Time: not null } ev ? StderrEventWriter.Format(ev with { Time = null }) : line;
}
