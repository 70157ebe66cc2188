using System.Text;
using ZeroDisk.LogCollector.Tailing;

namespace ZeroDisk.LogCollector.Tests;

public class LineSplitterTests
{
    private static List<(LineKind Kind, long Offset, long Next, string Text)> Feed(LineSplitter splitter, params byte[][] chunks)
    {
        var lines = new List<(LineKind, long, long, string)>();
        foreach (var chunk in chunks)
        {
            var remaining = chunk.AsSpan();
            while (!remaining.IsEmpty)
            {
                var memory = splitter.GetWriteMemory();
                var n = Math.Min(memory.Length, remaining.Length);
                remaining[..n].CopyTo(memory.Span);
                splitter.Advance(n);
                remaining = remaining[n..];
                while (splitter.TryReadLine(out var line))
                    lines.Add((line.Kind, line.Offset, line.NextOffset, Encoding.UTF8.GetString(line.Bytes)));
            }
        }
        return lines;
    }

    [Fact]
    public void A_line_without_its_newline_is_held_back_until_the_newline_arrives()
    {
        using var splitter = new LineSplitter(1024, 64, 100);
        var lines = Feed(splitter, "one\ntw"u8.ToArray());
        Assert.Equal([(LineKind.Complete, 100L, 104L, "one")], lines);
        Assert.False(splitter.IsAtLineStart);
        lines = Feed(splitter, "o\r\nthree\n"u8.ToArray());
        Assert.Equal([(LineKind.Complete, 104L, 109L, "two"), (LineKind.Complete, 109L, 115L, "three")], lines);
        Assert.True(splitter.IsAtLineStart);
    }

    [Fact]
    public void An_overlong_line_is_reported_once_when_it_ends_and_the_next_line_is_intact()
    {
        using var splitter = new LineSplitter(256, 64, 0);
        var huge = new byte[10 * 1024 * 1024];
        Array.Fill(huge, (byte)'x');
        var chunks = huge.Chunk(100_000).ToList();
        chunks.Add("\nafter\n"u8.ToArray());
        var lines = Feed(splitter, [.. chunks]);
        Assert.Equal([(LineKind.Overlong, 0L, huge.Length + 1L, ""), (LineKind.Complete, huge.Length + 1L, huge.Length + 7L, "after")], lines);
    }

    [Fact]
    public void A_complete_line_longer_than_the_cap_is_overlong_too()
    {
        using var splitter = new LineSplitter(256, 1024, 0);
        var lines = Feed(splitter, [.. Enumerable.Repeat((byte)'y', 300), (byte)'\n', (byte)'z', (byte)'\n']);
        Assert.Equal([(LineKind.Overlong, 0L, 301L, ""), (LineKind.Complete, 301L, 303L, "z")], lines);
    }

    [Fact]
    public void Reset_starts_again_at_the_given_offset()
    {
        using var splitter = new LineSplitter(256, 64, 0);
        Feed(splitter, "abc\npartial"u8.ToArray());
        splitter.Reset(0);
        Assert.Equal([(LineKind.Complete, 0L, 4L, "new")], Feed(splitter, "new\n"u8.ToArray()));
    }
}
