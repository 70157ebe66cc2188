using System.Buffers;
using System.IO.Pipelines;
using ZeroDisk.Nbd.Security;
using ZeroDisk.Nbd.Transport;

namespace ZeroDisk.Nbd.Tests.Fuzz;

/// <summary>Feeds whole client byte streams to the server's connection code over in-memory pipes (no sockets).</summary>
internal sealed class FuzzRunner(NbdSecurity? security = null)
{
    private readonly NbdSecurity _security = security ?? NbdSecurity.None;

    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(20);

    public CheckedExportCatalog Catalog { get; } = new();
    public RecordingLogger<NbdServer> Logger { get; } = new();
    private readonly NbdServerOptions _options = new() { MaxInFlightPerConnection = 8, HandshakeTimeout = TimeSpan.FromSeconds(10) };

    /// <summary>Iterations from ZD_FUZZ_ITERATIONS (longer runs), else the default.</summary>
    public static int Iterations(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("ZD_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : normal;

    /// <summary>Runs one session to its end; throws (with the seed) when the server hangs or fails unexpectedly.</summary>
    public async Task RunAsync(byte[] input, int seed)
    {
        var transport = new PipeTransport(PipeReader.Create(new ReadOnlySequence<byte>(input)), PipeWriter.Create(Stream.Null));
        var memory = new ByteBudget(_options.MaxBufferedBytes);
        var session = NbdConnection.RunAsync(transport, Catalog, _options, _security, memory, Logger, CancellationToken.None);
        try
        {
            await session.WaitAsync(HangLimit);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"session for seed {seed} did not end within {HangLimit} ({input.Length} bytes: {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 256)))})");
        }
        if (memory.Used != 0)
            throw new Xunit.Sdk.XunitException($"seed {seed}: the session ended holding {memory.Used} bytes of the server's memory budget");
        if (!Logger.Errors.IsEmpty || !Catalog.Violations.IsEmpty)
            throw new Xunit.Sdk.XunitException($"seed {seed}: {string.Join("; ", Logger.Errors.Concat(Catalog.Violations))}\ninput {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 512)))}");
    }

    /// <summary>The store holds exactly what the accepted requests wrote, and the read-only export is untouched.</summary>
    public async Task AssertConsistentAsync()
    {
        var writable = Catalog.WritableExport;
        var stored = new byte[writable.Size];
        await writable.Store.ReadAsync(0, stored, CancellationToken.None);
        Assert.True(writable.ShadowCopy().AsSpan().SequenceEqual(stored), "writable export differs from the writes the server accepted");

        var readOnly = new byte[Catalog.ReadOnlyExport.Size];
        await Catalog.ReadOnlyExport.Store.ReadAsync(0, readOnly, CancellationToken.None);
        Assert.True(Catalog.ReadOnlyPattern.AsSpan().SequenceEqual(readOnly), "read-only export changed");
        Assert.Empty(Catalog.Violations);
        Assert.Empty(Logger.Errors);
    }
}
