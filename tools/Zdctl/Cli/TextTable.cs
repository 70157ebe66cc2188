namespace ZeroDisk.Zdctl.Cli;

/// <summary>Plain aligned columns, like kubectl's: readable in a terminal, greppable in a script, no escape codes.</summary>
public sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public int Count => _rows.Count;

    public TextTable Add(params string?[] cells)
    {
        _rows.Add(cells.Select(c => string.IsNullOrEmpty(c) ? "-" : c).ToArray());
        return this;
    }

    public void WriteTo(TextWriter output)
    {
        var widths = headers.Select((h, i) => _rows.Select(r => i < r.Length ? r[i].Length : 0).Append(h.Length).Max()).ToArray();
        foreach (var row in _rows.Prepend(headers))
            output.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
    }
}
