using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using ZeroDisk.Nbd;
using ZeroDisk.Nbd.Memory;

namespace ZeroDisk.NbdHost.Cli;

/// <summary>
/// <c>nbdhost serve-memory</c>: the NBD server over in-memory exports, with no storage cluster. For client
/// checks and for measuring the protocol layer on its own (bench/nbd.sh).
/// </summary>
public static class MemoryServeCommand
{
    public static Command Create()
    {
        var listen = new Option<string?>("--listen")
        {
            Description = $"TCP endpoint host:port (default 127.0.0.1:{NbdServerOptions.DefaultPort} unless only --unix is given)",
        };
        var unix = new Option<string?>("--unix") { Description = "unix socket path to listen on as well" };
        var exports = new Option<string[]>("--export")
        {
            Description = "an export as name:sizeMiB (repeatable)",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var blockSize = new Option<int>("--block-size")
        {
            Description = "preferred block size advertised to clients",
            DefaultValueFactory = _ => 4096,
        };
        var command = new Command("serve-memory", "Serve in-memory NBD exports until SIGINT/SIGTERM")
        {
            listen, unix, exports, blockSize,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(listen), parse.GetValue(unix),
            parse.GetValue(exports) ?? [], parse.GetValue(blockSize), ct));
        return command;
    }

    private static async Task<int> RunAsync(string? listen, string? unix, string[] exportSpecs, int blockSize, CancellationToken ct)
    {
        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(Environment.GetEnvironmentVariable("ZD_LOG_DEBUG") == "1" ? LogLevel.Debug : LogLevel.Information));
        var logger = loggerFactory.CreateLogger("serve-memory");
        var catalog = new MemoryExportCatalog();
        foreach (var spec in exportSpecs)
        {
            var separator = spec.LastIndexOf(':');
            if (separator <= 0 || !long.TryParse(spec[(separator + 1)..], out var mib) || mib <= 0)
            {
                logger.LogError("--export {Spec}: expected name:sizeMiB", spec);
                return 2;
            }
            catalog.Add(spec[..separator], mib * 1024 * 1024, blockSize);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

        await using var server = new NbdServer(catalog, loggerFactory.CreateLogger<NbdServer>());
        if (listen is not null || unix is null)
        {
            if (!IPEndPoint.TryParse(listen ?? $"127.0.0.1:{NbdServerOptions.DefaultPort}", out var endpoint))
            {
                logger.LogError("--listen {Listen}: expected host:port", listen);
                return 2;
            }
            if (endpoint.Port == 0 && listen?.EndsWith(":0", StringComparison.Ordinal) != true) endpoint.Port = NbdServerOptions.DefaultPort;
            var bound = server.ListenTcp(endpoint);
            Console.Out.WriteLine($"listening nbd://{bound}");
        }
        if (unix is not null)
        {
            server.ListenUnix(unix);
            Console.Out.WriteLine($"listening nbd+unix:///?socket={unix}");
        }
        await Console.Out.FlushAsync(CancellationToken.None);

        try { await Task.Delay(Timeout.Infinite, stop.Token); }
        catch (OperationCanceledException) { }
        await server.StopAsync();
        return 0;
    }
}
