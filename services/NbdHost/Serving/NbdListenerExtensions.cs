using Microsoft.Extensions.Hosting;
using ZeroDisk.NbdHost.Configuration;

namespace ZeroDisk.NbdHost.Serving;

public static class NbdListenerExtensions
{
    /// <summary>The NBD protocol server over the vdisk catalog (wired once ZeroDisk.Nbd's server is merged).</summary>
    public static IHostApplicationBuilder AddNbdListener(this IHostApplicationBuilder builder, ServeOptions serve) => builder;
}
