using System.CommandLine;
using ZeroDisk.FaultCheck;

var seed = new Option<int>("--seed") { Description = "the schedule's seed (System.Random)", DefaultValueFactory = _ => Environment.TickCount & 0x7fffffff };
var seconds = new Option<int>("--seconds") { Description = "how long the schedule and the workload run", DefaultValueFactory = _ => 60 };
var kinds = new Option<string?>("--kinds") { Description = "fault kinds, comma-separated, or 'all' (default: the ones the stack survives today)" };
var printOnly = new Option<bool>("--print") { Description = "print the schedule and stop (deterministic: the same seed prints the same)" };
var probe = new Option<string?>("--probe") { Description = "port/export: write, read back and trim one block over NBD, then stop (checks the client against a server)" };
var root = new RootCommand("ZeroDisk fault-schedule checker: a seeded random fault schedule on the real stack, a write history, and its check") { seed, seconds, kinds, printOnly, probe };
root.SetAction(async (parse, ct) =>
{
    var schedule = FaultSchedule.Generate(parse.GetValue(seed), TimeSpan.FromSeconds(parse.GetValue(seconds)), FaultSchedule.ParseKinds(parse.GetValue(kinds)));
    if (parse.GetValue(probe) is { } target)
    {
        var (port, export) = (int.Parse(target.Split('/')[0], System.Globalization.CultureInfo.InvariantCulture), target.Split('/', 2)[1]);
        await using var nbd = await NbdConnection.ConnectAsync(port, export, ct);
        var block = new byte[4096];
        for (var s = 0; s < 8; s++) SectorContent.Fill(block.AsSpan(s * 512, 512), 0, 1, s, 42);
        var write = await nbd.RequestAsync(NbdConnection.Write, 4096, 4096, block, ct);
        var read = await nbd.RequestAsync(NbdConnection.Read, 4096, 4096, null, ct);
        var trim = await nbd.RequestAsync(NbdConnection.Trim, 4096, 4096, null, ct);
        var again = await nbd.RequestAsync(NbdConnection.Read, 4096, 4096, null, ct);
        Console.WriteLine($"size {nbd.ExportSize}; write {write.Error}; read {read.Error} decodes {SectorContent.Decode(read.Data.AsSpan(0, 512), 0, 1, 0)}; trim {trim.Error}; read {again.Error} decodes {SectorContent.Decode(again.Data.AsSpan(0, 512), 0, 1, 0)}");
        return 0;
    }
    if (parse.GetValue(printOnly))
    {
        Console.Write(schedule.Describe());
        return 0;
    }
    var configuration = AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
    var clock = System.Diagnostics.Stopwatch.StartNew();
    void Log(string line) => Console.WriteLine($"{clock.Elapsed:mm\\:ss\\.f} {line}");
    FaultRunResult result;
    try
    {
        result = await new FaultRun(schedule, configuration, Log).RunAsync(ct);
    }
    catch (Exception ex) when (ex is not OperationCanceledException)
    {
        Console.WriteLine($"FAULTCHECK ERROR seed {schedule.Seed}: the run could not complete: {ex}");
        return 2;
    }
    Console.WriteLine($"injected: {string.Join(", ", result.Injected.Select(k => $"{k.Key} {k.Value}"))}; {result.Operations} operations");
    if (result.Passed)
    {
        Console.WriteLine($"FAULTCHECK PASS seed {result.Seed}");
        return 0;
    }
    Console.WriteLine($"FAULTCHECK FAIL seed {result.Seed}: {result.Violations.Count} violation(s). Rerun: zdfaultcheck --seed {result.Seed} --seconds {parse.GetValue(seconds)}{(parse.GetValue(kinds) is { } k ? $" --kinds {k}" : "")}");
    Console.Write(result.Schedule);
    var first = result.Violations[0];
    Console.WriteLine($"first violation: {first.What}");
    foreach (var line in first.Evidence) Console.WriteLine($"  {line}");
    foreach (var other in result.Violations.Skip(1).Take(10)) Console.WriteLine($"also: {other.What}");
    Console.WriteLine($"logs of every process: {result.Logs} (node*/logs: serve, repair jobs; *.out: services), history.txt, faults.txt");
    return 1;
});
return await root.Parse(args).InvokeAsync();
