using System.CommandLine;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.Zdctl.Cli;

namespace ZeroDisk.Zdctl.Vdisks;

/// <summary>
/// <c>zdctl vdisk create|delete</c> through the admin API (<c>POST /vdisks</c>, <c>DELETE /vdisks/{id}</c>): one etcd
/// transaction each, refused (409) while either cluster is repairing.
/// </summary>
public static class VdiskCommand
{
    public static Command Create(GlobalOptions globals) => new("vdisk", "create and delete vdisks") { CreateCommand(globals), DeleteCommand(globals) };

    private static Command CreateCommand(GlobalOptions globals)
    {
        var defaults = new CreateVdiskRequest("", "", "");
        var id = VdiskId();
        var cluster = new Option<string>("--cluster") { Description = "the primary storage cluster", Required = true };
        var slave = new Option<string>("--slave-cluster") { Description = "the slave storage cluster that mirrors it", Required = true };
        var tlog = new Option<string?>("--tlog-cluster") { Description = "the tlog server cluster, if any" };
        var size = new Option<long>("--size")
        {
            Description = "size in GiB, e.g. 10 or 10GiB",
            DefaultValueFactory = _ => defaults.Size,
            CustomParser = GibSize.Parse,
        };
        var blockSize = new Option<int>("--block-size") { Description = "block size in bytes, a power of two", DefaultValueFactory = _ => defaults.BlockSize };
        var readOnly = new Option<bool>("--read-only") { Description = "export the vdisk read-only" };
        var create = new Command("create", "create a vdisk (refused while either cluster is repairing)") { id, cluster, slave, tlog, size, blockSize, readOnly };
        create.SetZdctlAction(globals, async (parse, context, ct) =>
        {
            var request = defaults with
            {
                Id = parse.GetValue(id)!,
                StorageClusterID = parse.GetValue(cluster)!,
                SlaveStorageClusterID = parse.GetValue(slave)!,
                TlogServerClusterID = parse.GetValue(tlog),
                Size = parse.GetValue(size),
                BlockSize = parse.GetValue(blockSize),
                ReadOnly = parse.GetValue(readOnly),
            };
            return AdminReplyOutput.Report(await context.Admin().PostAsync("/vdisks", request, ct));
        });
        return create;
    }

    private static Command DeleteCommand(GlobalOptions globals)
    {
        var id = VdiskId();
        var delete = new Command("delete", "delete a vdisk and purge its data from the engines (refused while either cluster is repairing)") { id };
        delete.SetZdctlAction(globals, async (parse, context, ct) =>
            AdminReplyOutput.Report(await context.Admin().DeleteAsync($"/vdisks/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct)));
        return delete;
    }

    private static Argument<string> VdiskId()
    {
        var id = new Argument<string>("id") { Description = "the vdisk id" };
        id.Validators.Add(result =>
        {
            if (!ConfigValidation.IsValidId(result.GetValue(id))) result.AddError($"vdisk id '{result.GetValue(id)}' must be 1-128 letters, digits, '-', '_' or '.'");
        });
        return id;
    }
}
