namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>Small executable shell scripts standing in for the processes a test does not exercise (VM hook, repair server, NBD server).</summary>
public static class Scripts
{
    public static string Write(string path, string body)
    {
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>Records each call's arguments, one line per call.</summary>
    public static string Recorder(string path, string callsFile) => Write(path, $"echo \"$@\" >> '{callsFile}'");

    /// <summary>A repair server that runs until the test creates <paramref name="finishFile"/>, then exits 0.</summary>
    public static string RepairUntil(string path, string finishFile) =>
        Write(path, $"echo \"repairing $1 with epoch $2\"\nwhile [ ! -e '{finishFile}' ]; do sleep 0.05; done\necho \"repair of $1 done\"");

    /// <summary>A stand-in NBD server: takes ownership of its vdisk as <c>nbdhost serve</c> does, then serves (sleeps).</summary>
    public static string OwningNbdServer(string path, string etcdEndpoints, string vdiskId) =>
        Write(path, $"ETCDCTL_API=3 etcdctl --endpoints='{etcdEndpoints}' put '{vdiskId}:vdisk:owner' \"{{\\\"server\\\":\\\"$1\\\",\\\"kind\\\":\\\"vm\\\",\\\"epoch\\\":1}}\"\nexec sleep 300");
}
