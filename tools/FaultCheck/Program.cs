using System.CommandLine;
using ZeroDisk.FaultCheck;

var seed = new Option<int>("--seed") { Description = "the schedule's seed (System.Random)", DefaultValueFactory = _ => Environment.TickCount & 0x7fffffff };
var seconds = new Option<int>("--seconds") { Description = "how long the schedule and the workload run", DefaultValueFactory = _ => 60 };
var kinds = new Option<string?>("--kinds") { Description = "fault kinds, comma-separated, 'all' (the kinds up to session 15: recorded seeds keep their schedules) or 'every' (default: the ones the stack survives today)" };
var printOnly = new Option<bool>("--print") { Description = "print the schedule and stop (deterministic: the same seed prints the same)" };
var probe = new Option<string?>("--probe") { Description = "port/export: write, read back and trim one block over NBD, then stop (checks the client against a server)" };
var only = new Option<string?>("--only") { Description = "run only these faults of the schedule (indexes as printed, comma-separated): a shrunk schedule's rerun" };
var scale = new Option<double>("--scale") { Description = "every fault lasts this many times as long (with --only, from shrinking)", DefaultValueFactory = _ => 1.0 };
var length = new Option<int?>("--length") { Description = "the run lasts this many seconds (the schedule is still drawn with --seconds): a shrunk or cut rerun" };
var shrink = new Option<bool>("--shrink") { Description = "if the seed fails, drop faults one at a time (and shorten) while it still fails the same way; print the minimal failing schedule" };
var shrinkRuns = new Option<int>("--shrink-runs") { Description = "at most this many extra runs while shrinking", DefaultValueFactory = _ => 12 };
var fio = new Option<bool>("--fio") { Description = "add the second workload: fio's nbd engine with crc32c verify on a served vdisk" };
var root = new RootCommand("ZeroDisk fault-schedule checker: a seeded random fault schedule on the real stack, a write history, and its check") { seed, seconds, kinds, printOnly, probe, only, scale, length, shrink, shrinkRuns, fio };
root.SetAction(async (parse, ct) =>
{
    var schedule = FaultSchedule.Generate(parse.GetValue(seed), TimeSpan.FromSeconds(parse.GetValue(seconds)), FaultSchedule.ParseKinds(parse.GetValue(kinds)));
    var onlyText = parse.GetValue(only);
    if (onlyText is not null || parse.GetValue(scale) != 1.0 || parse.GetValue(length) is not null)
        schedule = schedule.Only(onlyText is null ? schedule.Faults.Select(f => f.Index).ToList() : onlyText.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(i => int.Parse(i, System.Globalization.CultureInfo.InvariantCulture)).ToList(),
            parse.GetValue(scale), parse.GetValue(length) is { } l ? TimeSpan.FromSeconds(l) : null);
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
        result = await new FaultRun(schedule, configuration, Log, parse.GetValue(fio)).RunAsync(ct);
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
    var rerunArgs = $"--seed {result.Seed} --seconds {parse.GetValue(seconds)}{(parse.GetValue(kinds) is { } k ? $" --kinds {k}" : "")}{(onlyText is null ? "" : $" --only {onlyText}")}{(parse.GetValue(scale) != 1.0 ? $" --scale {parse.GetValue(scale)}" : "")}{(parse.GetValue(length) is { } len ? $" --length {len}" : "")}{(parse.GetValue(fio) ? " --fio" : "")}";
    Console.WriteLine($"FAULTCHECK FAIL seed {result.Seed}: {result.Violations.Count} violation(s). Rerun: zdfaultcheck {rerunArgs}");
    Console.Write(result.Schedule);
    var first = result.Violations[0];
    Console.WriteLine($"first violation: {first.What}");
    foreach (var line in first.Evidence) Console.WriteLine($"  {line}");
    foreach (var other in result.Violations.Skip(1).Take(10)) Console.WriteLine($"also: {other.What}");
    Console.WriteLine($"logs of every process: {result.Logs} (node*/logs: serve, repair jobs; *.out: services), history.txt, faults.txt");
    if (parse.GetValue(shrink))
    {
        Log($"shrinking: category '{Shrinker.Category(first)}', at most {parse.GetValue(shrinkRuns)} more runs");
        var shrinker = new Shrinker(s => new FaultRun(s, configuration, Log, parse.GetValue(fio)).RunAsync(ct), Log, parse.GetValue(shrinkRuns), TimeSpan.FromSeconds(parse.GetValue(seconds)));
        var minimal = await shrinker.ShrinkAsync(schedule, result);
        Console.WriteLine($"FAULTCHECK SHRUNK seed {result.Seed}: {minimal.Schedule.Faults.Count} of {schedule.Faults.Count} fault(s) still fail ({Shrinker.Category(first)}) after {minimal.Runs} run(s). Rerun: {minimal.Rerun}{(parse.GetValue(fio) ? " --fio" : "")}");
        Console.Write(minimal.Schedule.Describe());
    }
    return 1;
});
return await root.Parse(args).InvokeAsync();
