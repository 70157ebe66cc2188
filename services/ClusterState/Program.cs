using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ServiceDefaults.Options;

// ClusterState: the AYS model — sagas per storage engine, storage cluster and vdisk repair, their
// state in etcd, a reconciler and the admin API. The wiring is in Extensions/.
return await InvalidConfiguration.RunAsync(() => ClusterStateApp.Build(args));
