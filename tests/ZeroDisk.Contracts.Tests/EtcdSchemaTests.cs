using ZeroDisk.Contracts;

namespace ZeroDisk.Contracts.Tests;

public class EtcdSchemaTests
{
    [Fact]
    public void Keys_follow_the_original_layout()
    {
        Assert.Equal("c1:cluster:conf:storage", EtcdKeys.StorageClusterConfig("c1"));
        Assert.Equal("c1:cluster:status", EtcdKeys.ClusterStatus("c1"));
        Assert.Equal("t1:cluster:conf:tlog", EtcdKeys.TlogClusterConfig("t1"));
        Assert.Equal("vd1:vdisk:conf:static", EtcdKeys.VdiskStaticConfig("vd1"));
        Assert.Equal("vd1:vdisk:conf:storage:nbd", EtcdKeys.VdiskNbdConfig("vd1"));
        Assert.Equal("nbd1:nbdserver:conf:vdisks", EtcdKeys.NbdServerVdisks("nbd1"));
        Assert.Equal("vd1:vdisk:owner", EtcdKeys.VdiskOwner("vd1"));
        Assert.Equal("zerodisk/sagas/engine/a", EtcdKeys.Saga("engine", "a"));
        Assert.Equal("c1", EtcdKeys.ClusterIdOfStorageConfig("c1:cluster:conf:storage"));
        Assert.Null(EtcdKeys.ClusterIdOfStorageConfig("c1:cluster:status"));
        Assert.Equal("vd1", EtcdKeys.VdiskIdOfNbdConfig("vd1:vdisk:conf:storage:nbd"));
    }

    [Fact]
    public void Storage_cluster_config_reads_the_documented_json()
    {
        const string json = """{"servers":[{"address":"10.100.0.1:22005","db":0,"state":"online"},{"address":"10.100.0.2:22005","db":1,"state":"repair-tmp-outage"}]}""";
        var config = ZeroDiskJson.Deserialize<StorageClusterConfig>(json);
        Assert.Equal(2, config.Servers.Count);
        Assert.Equal(EngineState.RepairTmpOutage, config.Servers[1].State);
        Assert.Equal(1, config.Servers[1].Db);
        Assert.Equal(json, ZeroDiskJson.Serialize(config));
    }

    [Fact]
    public void Vdisk_configs_read_the_documented_json()
    {
        var stat = ZeroDiskJson.Deserialize<VdiskStaticConfig>("""{"blockSize":4096,"readOnly":false,"size":10,"type":"db"}""");
        Assert.Equal(10L << 30, stat.SizeBytes);
        var nbd = ZeroDiskJson.Deserialize<VdiskNbdConfig>("""{"storageClusterID":"p","slaveStorageClusterID":"s","tlogServerClusterID":"t"}""");
        Assert.Equal(("p", "s", "t"), (nbd.StorageClusterID, nbd.SlaveStorageClusterID, nbd.TlogServerClusterID));
        var owner = ZeroDiskJson.Deserialize<VdiskOwner>("""{"server":"n1","kind":"repair","epoch":7}""");
        Assert.Equal(VdiskOwnerKind.Repair, owner.Kind);
        Assert.Equal("""{"server":"n1","kind":"repair","epoch":7}""", ZeroDiskJson.Serialize(owner));
    }

    [Theory]
    [InlineData(4096, 10, true)]
    [InlineData(512, 1, true)]
    [InlineData(4000, 10, false)]
    [InlineData(256, 10, false)]
    [InlineData(4096, 0, false)]
    public void Static_config_validation(int blockSize, long size, bool valid) =>
        Assert.Equal(valid, ConfigValidation.Validate(new VdiskStaticConfig(blockSize, Size: size)).Count == 0);

    [Fact]
    public void Cluster_validation_names_the_problem()
    {
        Assert.Contains("at least one server", ConfigValidation.Validate(new StorageClusterConfig([]))[0]);
        Assert.Contains("host:port", ConfigValidation.Validate(new StorageClusterConfig([new("nohost")]))[0]);
        Assert.Contains("listed twice", ConfigValidation.Validate(new StorageClusterConfig([new("a:1"), new("a:1")]))[0]);
        var pair = ConfigValidation.ValidatePair(new([new("a:1"), new("a:2")]), new([new("b:1")]));
        Assert.Contains("same size", Assert.Single(pair));
    }
}
