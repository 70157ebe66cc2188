using System.CommandLine;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.Nbd;
using ZeroDisk.Nbd.Memory;
using ZeroDisk.NbdHost.Serving;
using ZeroDisk.ServiceDefaults.Options;

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
        var catalog = new MemoryExportCatalog();
        foreach (var spec in exportSpecs)
        {
            var separator = spec.LastIndexOf(':');
            if (separator <= 0 || !long.TryParse(spec[(separator + 1)..], out var mib) || mib <= 0)
                return await UsageErrorAsync($"--export {spec}: expected name:sizeMiB");
            catalog.Add(spec[..separator], mib * 1024 * 1024, blockSize);
        }

        string? tcp = null;
        if (listen is not null || unix is null)
        {
            if (!IPEndPoint.TryParse(listen ?? $"127.0.0.1:{NbdServerOptions.DefaultPort}", out var endpoint))
                return await UsageErrorAsync($"--listen {listen}: expected host:port");
            if (endpoint.Port == 0 && listen?.EndsWith(":0", StringComparison.Ordinal) != true) endpoint.Port = NbdServerOptions.DefaultPort;
            tcp = endpoint.ToString();
        }

        // The server's limits come from the Nbd section, read and checked as nbdhost serve reads them.
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true)
            .SetMinimumLevel(Environment.GetEnvironmentVariable("ZD_LOG_DEBUG") == "1" ? LogLevel.Debug : LogLevel.Information);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddSingleton<INbdExportCatalog>(catalog);
        builder.AddNbdListener(new NbdListenAddresses(tcp, unix));
        return await InvalidConfiguration.RunAsync(builder.Build, ct);
    }

    private static async Task<int> UsageErrorAsync(string message)
    {
        await Console.Error.WriteLineAsync(message);
        return 2;
    }
}
