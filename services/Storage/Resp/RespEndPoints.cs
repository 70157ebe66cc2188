using System.Globalization;
using System.Net;

namespace ZeroDisk.Storage.Resp;

public static class RespEndPoints
{
    /// <summary>"host:port" (an IPv6 address in brackets) as an endpoint: an IP address as it is, a name resolved on connect.</summary>
    public static EndPoint Parse(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            throw new FormatException($"not a host:port address: '{address}'");
        var host = address[..colon].Trim('[', ']');
        return IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
    }
}
