using ZeroDisk.LogCollector.Tailing;

namespace ZeroDisk.LogCollector.Tests;

public class When_the_collector_reads_standard_input
{
    [Fact]
    public async Task Events_piped_in_are_published_as_stream_stdin_and_garbage_is_skipped()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var node = TestNames.Unique("lc-stdin");
        using var directory = new LogDirectory();
        await using var capture = await EventCapture.StartAsync(endpoints, node);
        var environment = CollectorEnvironment.For(endpoints.RabbitMqUri, node, directory.Path);
        environment["LogCollector__ReadStandardInput"] = "true";
        await using var collector = new CollectorProcess(environment, directory.File(".collector.out"), standardInput: true);
        collector.Start();

        var keys = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var (line, key) = EventLines.Event(i % EventLines.EventKinds, $"{node}-{i}");
            keys.Add(key);
            await collector.StandardInput.WriteLineAsync(line);
            await collector.StandardInput.WriteLineAsync("{\"type\": \"storageengine-failure\", \"data\": 7}");
            await collector.StandardInput.WriteLineAsync($"ordinary line {i}");
        }
        await collector.StandardInput.FlushAsync();

        await capture.Messages.WaitForKeysAsync(keys, TimeSpan.FromSeconds(60));
        Assert.Equal(keys.Count, capture.Messages.UniqueCount);
        Assert.All(capture.Messages.Unique, r => Assert.Equal(StandardInputTailer.StreamName, r.Source.Stream));
        Assert.True(collector.IsRunning, collector.Output());
    }
}
