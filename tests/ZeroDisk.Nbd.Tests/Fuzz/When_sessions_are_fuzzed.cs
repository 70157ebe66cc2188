using static ZeroDisk.Nbd.Tests.Fuzz.SessionGenerator;
using static ZeroDisk.Nbd.Tests.Support.ClientMessages;

namespace ZeroDisk.Nbd.Tests.Fuzz;

/// <summary>
/// Random and mutated client input for the handshake and transmission parsers: no unhandled exception, no hang,
/// no request outside the promises reaching the store, no change to data except by accepted writes.
/// ZD_FUZZ_ITERATIONS=N runs N inputs per test instead of the default.
/// </summary>
public sealed class When_sessions_are_fuzzed
{
    [Fact]
    public async Task Mutated_and_random_handshakes_never_break_the_server()
    {
        var runner = new FuzzRunner();
        var iterations = FuzzRunner.Iterations(60_000);
        for (var i = 0; i < iterations; i++)
        {
            var r = new Random(i);
            byte[] input = r.Next(10) switch
            {
                0 => RandomBytes(r, r.Next(0, 200)),
                1 => Concat([ClientFlags(), RandomBytes(r, r.Next(0, 200))]),
                2 => Concat([ClientFlags(), Option((uint)r.Next(0, 16), RandomBytes(r, r.Next(0, 64)))]),
                _ => Mutate(r, Concat([.. Handshake(r, out _), .. Requests(r, 4096)])),
            };
            await runner.RunAsync(input, i);
            if (i % 10_000 == 9_999) await runner.AssertConsistentAsync();
        }
        await runner.AssertConsistentAsync();
    }

    [Fact]
    public async Task Mutated_requests_after_a_valid_handshake_never_corrupt_data()
    {
        var runner = new FuzzRunner();
        var iterations = FuzzRunner.Iterations(60_000);
        for (var i = 0; i < iterations; i++)
        {
            var r = new Random(1_000_000 + i);
            var export = r.Next(4) == 0 ? CheckedExportCatalog.ReadOnlyName : CheckedExportCatalog.Writable;
            var size = export == CheckedExportCatalog.Writable ? CheckedExportCatalog.WritableSize : CheckedExportCatalog.ReadOnlySize;
            var handshake = Concat([
                ClientFlags(),
                .. r.Next(2) == 0 ? new[] { Option(OptStructuredReply, []),
                    Option(OptSetMetaContext,
                        MetaContextRequest(export, "base:allocation")) } : [],
                Option(OptGo,
                    InfoRequest(export)),
            ]);
            var requests = Concat(Requests(r, size));
            var input = Concat([handshake, r.Next(10) == 0 ? RandomBytes(r, r.Next(0, 300)) : Mutate(r, requests)]);
            await runner.RunAsync(input, 1_000_000 + i);
            if (i % 10_000 == 9_999) await runner.AssertConsistentAsync();
        }
        await runner.AssertConsistentAsync();
        // Not vacuous: plenty of the mutated sessions still got writes and reads through to the store.
        Assert.True(runner.Catalog.WritableExport.Writes > iterations / 20, $"only {runner.Catalog.WritableExport.Writes} writes reached the store");
        Assert.True(runner.Catalog.WritableExport.Reads > iterations / 20, $"only {runner.Catalog.WritableExport.Reads} reads reached the store");
    }
}
