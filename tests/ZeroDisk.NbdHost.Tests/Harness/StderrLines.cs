namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>The stderr event lines of DESIGN §3, spelled out exactly as a test expects them.</summary>
public static class StderrLines
{
    public static string EngineFailure(string address) =>
        $"{{\"type\": \"storageengine-failure\", \"data\": \"{address}\"}}";

    public static string TmpRepairComplete(string address, string vdiskId) =>
        $"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{address}\", \"vdiskid\": \"{vdiskId}\"}}}}";
}
