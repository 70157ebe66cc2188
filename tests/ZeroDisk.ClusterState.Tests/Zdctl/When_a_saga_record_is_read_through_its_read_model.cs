using ZeroDisk.ClusterState.History;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.VdiskRepairs;

namespace ZeroDisk.ClusterState.Tests.Zdctl;

/// <summary>
/// zdctl and the NBD servers read the sagas' etcd records through read models in contracts, not ClusterState's saga
/// classes: what a saga writes must read back the same through them, under the same key type.
/// </summary>
public sealed class When_a_saga_record_is_read_through_its_read_model
{
    [Fact]
    public void The_engine_saga_reads_back_field_for_field()
    {
        var at = DateTimeOffset.Parse("2026-12-06T04:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var saga = new StorageEngineSaga
        {
            CorrelationId = SagaIds.Engine("127.0.0.1:6379"), CurrentState = EngineStateNames.RepairingTmpOutage, Address = "127.0.0.1:6379",
            ClusterId = "primary", Incident = "inc-1", IncidentTraceId = "trace-1", StateEnteredAt = at, Outage = OutageKind.Temporary,
            AffectedVdisks = ["vd1", "vd2"], CompletedVdisks = ["vd1"],
            History = [new TransitionRecord(EngineStateNames.Online, EngineStateNames.Offline, at, "reported", "inc-1", "trace-1", "span-1")],
        };

        var record = ZeroDiskJson.Deserialize<EngineSagaRecord>(ZeroDiskJson.Serialize(saga));

        Assert.Equal(EngineSagaRecord.SagaType, SagaTypeNames.Of<StorageEngineSaga>());
        Assert.Equal(EtcdSagaSession<StorageEngineSaga>.Key(saga.CorrelationId), EngineSagaRecord.Key(saga.Address));
        Assert.Equal((saga.CurrentState, saga.Address, saga.ClusterId, saga.Incident, saga.IncidentTraceId, saga.StateEnteredAt, saga.Outage),
            (record.CurrentState, record.Address, record.ClusterId, record.Incident, record.IncidentTraceId, record.StateEnteredAt, record.Outage));
        Assert.Equal(saga.AffectedVdisks, record.AffectedVdisks);
        Assert.Equal(saga.CompletedVdisks, record.CompletedVdisks);
        Assert.Equal([new SagaTransition(EngineStateNames.Online, EngineStateNames.Offline, at, "reported", "inc-1", "trace-1")], record.History);
        Assert.Equal(EngineState.RepairTmpOutage, EngineSagaRecord.ToEngineState(record.CurrentState));
    }

    [Fact]
    public void The_vdisk_repair_saga_reads_back_its_phase()
    {
        var saga = new VdiskRepairSaga { CurrentState = nameof(VdiskRepairPhase.Completed), VdiskId = "vd1", Address = "127.0.0.1:6379", Incident = "inc-1" };

        var record = ZeroDiskJson.Deserialize<VdiskRepairRecord>(ZeroDiskJson.Serialize(saga));

        Assert.Equal(VdiskRepairRecord.SagaType, SagaTypeNames.Of<VdiskRepairSaga>());
        Assert.Equal((saga.CurrentState, saga.VdiskId, saga.Address, saga.Incident), (record.CurrentState, record.VdiskId, record.Address, record.Incident));
        Assert.Equal(VdiskRepairRecord.Completed, nameof(VdiskRepairPhase.Completed));
        Assert.Equal(VdiskRepairRecord.Pending, nameof(VdiskRepairPhase.Pending));
    }
}
