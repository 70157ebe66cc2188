namespace ZeroDisk.LogCollector.Tests.Fixtures;

/// <summary>Tests in this collection run while no other test of the assembly runs.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "runs alone";
}
