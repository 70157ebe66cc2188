using ZeroDisk.Storage.Failover;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// What a repair needs of the vdisk it copies: its blocks, their locks and topology, and two ways to say a repair is
/// done. The vdisk's storage implements it; a repair sees nothing else of it.
/// </summary>
internal interface IRepairTarget
{
    string VdiskId { get; }
    int BlockSize { get; }
    bool IsFenced { get; }
    VdiskTopology Topology { get; }
    MirroredBlocks Blocks { get; }
    BlockLocks Locks { get; }
    StorageEngines Engines { get; }
    RespreadRecords RespreadRecords { get; }

    /// <summary>A tmp repair finished: the engine is complete again for this vdisk.</summary>
    void MarkTmpRepaired(string address);

    /// <summary>A respread finished: the shard's blocks live at their new homes for this vdisk.</summary>
    void MarkRespread(int shard);

    void RebuildTopology();
}
