using Microsoft.Extensions.Logging.Abstractions;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Persistence;

/// <summary>
/// A report to an engine this process saw go offline is recorded in one etcd transaction that compares the saga's
/// value with the one remembered, not a read and a transaction. etcd decides: a saga that moved on behind the process's
/// back, a report processed already or a process that remembers nothing all go the usual way, from a read.
/// </summary>
public sealed class When_an_ignoring_saga_is_remembered
{
    [Fact]
    public async Task A_report_costs_one_transaction_and_etcd_still_has_the_last_word()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        var batcher = new EtcdTxnBatcher(etcd);
        var lease = new ProcessedMessageLease(etcd, new ClusterStateOptions(), TimeProvider.System);
        var machine = new StorageEngineStateMachine(null!, null!, TimeProvider.System, new ClusterStateOptions());
        var remembered = new IgnoringSagaValues<StorageEngineSaga>(machine.IgnoresFailureReports);
        var saga = new StorageEngineSaga { CorrelationId = Guid.NewGuid(), CurrentState = EngineStateNames.Offline, Address = TestNames.Unique("engine") };
        var sagaKey = EtcdSagaSession<StorageEngineSaga>.Key(saga.CorrelationId);
        var messages = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid()).ToArray();
        try
        {
            // The transition to Offline, committed by this process: it now knows the saga's value.
            await Session(remembered).CommitAsync(saga, Guid.NewGuid(), CancellationToken.None);

            var calls = batcher.Calls;
            Assert.True(await RecordAsync(remembered, messages[0]));
            Assert.Equal(calls + 1, batcher.Calls); // no read first
            var record = await etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(messages[0]), CancellationToken.None);
            Assert.NotNull(record);

            // Another instance brought the engine back online: the report is a new incident, for the saga to run.
            await etcd.PutAsync(sagaKey, ZeroDiskJson.Serialize(new StorageEngineSaga { CorrelationId = saga.CorrelationId, CurrentState = EngineStateNames.Online, Address = saga.Address }));
            var handedOn = new FirstSagaRead();
            Assert.False(await RecordAsync(remembered, messages[1], handedOn));
            Assert.Null(await etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(messages[1]), CancellationToken.None));
            Assert.True(handedOn.TryTake(messages[1], saga.CorrelationId, out var read));
            Assert.Contains(EngineStateNames.Online, read!.Value.ToStringUtf8());

            // The first report again: processed already, nothing is written twice.
            Assert.True(await RecordAsync(remembered, messages[0]));
            Assert.Equal(record!.ModRevision, (await etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(messages[0]), CancellationToken.None))!.ModRevision);

            // Offline again, written by someone else: a fresh process remembers nothing and reads before it records.
            await etcd.PutAsync(sagaKey, ZeroDiskJson.Serialize(saga));
            var fresh = new IgnoringSagaValues<StorageEngineSaga>(machine.IgnoresFailureReports);
            calls = batcher.Calls;
            Assert.True(await RecordAsync(fresh, messages[2]));
            Assert.Equal(calls + 2, batcher.Calls);
            calls = batcher.Calls;
            Assert.True(await RecordAsync(fresh, messages[3])); // and from then on it knows
            Assert.Equal(calls + 1, batcher.Calls);
        }
        finally
        {
            await etcd.DeleteAsync(sagaKey);
            foreach (var id in messages) await etcd.DeleteAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(id));
        }

        EtcdSagaSession<StorageEngineSaga> Session(IgnoringSagaValues<StorageEngineSaga> memory) =>
            new(etcd, batcher, lease, [], NullLogger<EtcdSagaSession<StorageEngineSaga>>.Instance, ignoring: memory);

        // As the ignored-report filter asks: what is remembered first, then from a read.
        async Task<bool> RecordAsync(IgnoringSagaValues<StorageEngineSaga> memory, Guid messageId, FirstSagaRead? handedOn = null) =>
            await Session(memory).TryRecordRememberedAsync(messageId, saga.CorrelationId, CancellationToken.None)
            || await Session(memory).TryRecordIgnoredAsync(messageId, saga.CorrelationId, handedOn ?? new FirstSagaRead(), CancellationToken.None);
    }
}
