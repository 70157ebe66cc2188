using System.Diagnostics;
using Spectre.Console;

namespace ZeroDisk.Drill;

/// <summary>The drill's live log and its closing table: every check, whether it held, and when.</summary>
public sealed class DrillReport
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(string Check, bool Held, string Detail, TimeSpan At)> _checks = [];

    public bool AllHeld => _checks.Count > 0 && _checks.All(c => c.Held);

    public void Progress(string message) =>
        AnsiConsole.MarkupLine($"[grey]{_clock.Elapsed:mm\\:ss\\.f}[/] {Markup.Escape(message)}");

    public bool Check(string check, bool held, string detail)
    {
        _checks.Add((check, held, detail, _clock.Elapsed));
        AnsiConsole.MarkupLine($"[grey]{_clock.Elapsed:mm\\:ss\\.f}[/] {(held ? "[green]PASS[/]" : "[red]FAIL[/]")} {Markup.Escape(check)}: {Markup.Escape(detail)}");
        return held;
    }

    public void PrintSummary(string title)
    {
        var table = new Table().Title(title).AddColumn("check").AddColumn("result").AddColumn("at").AddColumn("detail");
        foreach (var (check, held, detail, at) in _checks)
            table.AddRow(Markup.Escape(check), held ? "[green]held[/]" : "[red]FAILED[/]", $"{at:mm\\:ss\\.f}", Markup.Escape(detail));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(AllHeld ? "[green]Drill passed: every check held.[/]" : "[red]Drill FAILED.[/]");
    }
}
