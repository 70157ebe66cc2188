using System.Collections.Concurrent;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.Rehearsal;
using ZeroDisk.ClusterState.StorageClusters;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.Tests.Fixtures;
using ZeroDisk.ClusterState.VdiskRepairs;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Rehearsal;

/// <summary>
/// At start-up ClusterState runs one failure report through its sagas (so the first real incident does not pay for
/// the JIT), on a private in-memory bus against its own leased keys, with commits that etcd evaluates and never applies.
/// What a deployment reads must not change: no saga record, no key left, no message on the broker's exchanges.
/// </summary>
public sealed class When_clusterstate_rehearses_a_report_at_start
{
    [Fact]
    public async Task The_whole_transition_runs_and_nothing_is_left_or_published()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var scope = TestNames.Unique("cs-rehearsal");
        await using var vhost = await RabbitMqVirtualHost.CreateAsync(endpoints, scope);
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        // Bound to the exchanges of what a transition publishes, before the service starts: the scheduler's view.
        var published = new ConcurrentQueue<object>();
        var watcher = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(vhost.Uri);
            rabbit.ReceiveEndpoint($"{scope}-watcher", e =>
            {
                e.Handler<StorageEngineFailureReported>(c => Record(c.Message));
                e.Handler<StorageEngineStateChanged>(c => Record(c.Message));
                e.Handler<VdiskRepairPhaseChanged>(c => Record(c.Message));
                e.Handler<StorageClusterStateChanged>(c => Record(c.Message));
            });
        });
        await watcher.StartAsync();

        var app = ClusterStateApp.Build([.. ClusterStateInstance.Arguments(new Uri($"http://127.0.0.1:{FreePort.Next()}"), endpoints, vhost.Uri, scope)]);
        await app.StartAsync();
        try
        {
            var readiness = app.Services.GetRequiredService<RehearsalReadiness>();
            await Eventually.UntilAsync(() => Task.FromResult(readiness.Outcome is not null), "the rehearsal ended", TimeSpan.FromSeconds(60));
            var outcome = readiness.Outcome!;
            Assert.True(outcome.Rehearsed, outcome.WhyNot);
            Assert.StartsWith(EtcdKeys.OwnRecordsPrefix + "rehearsal/", outcome.Scope);

            // Its keys went with its lease; its sagas were never written (their commits were fenced).
            Assert.Empty((await etcd.GetRangeAsync(outcome.Scope!)).Kvs);
            Assert.Null(await etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.Key(SagaIds.Engine(outcome.Engine!)), CancellationToken.None));
            Assert.Null(await etcd.GetAsync(EtcdSagaSession<StorageClusterSaga>.Key(SagaIds.Cluster(outcome.Scope + "primary")), CancellationToken.None));
            Assert.DoesNotContain((await etcd.GetRangeAsync(EtcdKeys.SagaPrefix(SagaTypeNames.Of<VdiskRepairSaga>()))).Kvs,
                kv => kv.Value.ToStringUtf8().Contains(outcome.Engine!, StringComparison.Ordinal));

            // The service's own sessions are never fenced.
            await using (var messageScope = app.Services.CreateAsyncScope())
                Assert.False(messageScope.ServiceProvider.GetRequiredService<EtcdSagaSession<StorageEngineSaga>>().IsRehearsal);

            await Task.Delay(TimeSpan.FromSeconds(1)); // anything published would have arrived by now
            Assert.Empty(published);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            await watcher.StopAsync();
        }

        Task Record(object message)
        {
            published.Enqueue(message);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task A_fenced_commit_reaches_etcd_and_changes_nothing()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        var options = new ClusterStateOptions();
        var lease = new ProcessedMessageLease(etcd, options, TimeProvider.System);
        var address = $"{TestNames.Unique("fenced")}.invalid:1";
        var saga = new StorageEngineSaga { CorrelationId = SagaIds.Engine(address), Address = address, CurrentState = "Offline" };
        var messageId = Guid.NewGuid();
        var revision = (await etcd.GetRangeAsync(EtcdKeys.OwnRecordsPrefix + "rehearsal-test-none")).Header.Revision;

        var fenced = Session(new RehearsalFence(EtcdKeys.OwnRecordsPrefix + "rehearsal/" + Guid.NewGuid().ToString("N") + "/never-written"));
        Assert.True(fenced.IsRehearsal);
        await fenced.CommitAsync(saga, messageId, CancellationToken.None); // taken as committed, applied nowhere
        Assert.Null(await etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.Key(saga.CorrelationId), CancellationToken.None));
        Assert.Null(await etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(messageId), CancellationToken.None));

        // The same commit unfenced is written (and the fenced one did not move etcd's revision on its own account:
        // whatever else this shared etcd did meanwhile, the saga key was created by the unfenced commit alone).
        var real = Session(null);
        await real.CommitAsync(saga, messageId, CancellationToken.None);
        var written = await etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.Key(saga.CorrelationId), CancellationToken.None);
        Assert.NotNull(written);
        Assert.True(written!.CreateRevision > revision);
        Assert.Equal(1, written.Version);
        await etcd.DeleteAsync(EtcdSagaSession<StorageEngineSaga>.Key(saga.CorrelationId));
        await etcd.DeleteAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(messageId));

        EtcdSagaSession<StorageEngineSaga> Session(RehearsalFence? fence) =>
            new(etcd, new EtcdTxnBatcher(etcd), lease, [], Microsoft.Extensions.Logging.Abstractions.NullLogger<EtcdSagaSession<StorageEngineSaga>>.Instance, fence);
    }

    [Fact]
    public async Task Without_etcd_it_gives_up_in_time_and_start_up_goes_on()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var scope = TestNames.Unique("cs-rehearsal-noetcd");
        await using var vhost = await RabbitMqVirtualHost.CreateAsync(endpoints, scope);
        var nowhere = endpoints with { EtcdEndpoints = $"http://127.0.0.1:{FreePort.Next()}" };
        var app = ClusterStateApp.Build([.. ClusterStateInstance.Arguments(new Uri($"http://127.0.0.1:{FreePort.Next()}"), nowhere, vhost.Uri, scope)]);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await app.StartAsync();
        try
        {
            var readiness = app.Services.GetRequiredService<RehearsalReadiness>();
            await Eventually.UntilAsync(() => Task.FromResult(readiness.Outcome is not null), "the rehearsal ended", StartupRehearsal.Limit + TimeSpan.FromSeconds(20));
            Assert.False(readiness.Outcome!.Rehearsed);
            Assert.NotNull(readiness.Outcome.WhyNot);
            Assert.True(readiness.Outcome.Took <= StartupRehearsal.Limit + TimeSpan.FromSeconds(3), $"gave up after {readiness.Outcome.Took}");
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
