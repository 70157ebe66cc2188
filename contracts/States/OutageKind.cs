using System.Text.Json.Serialization;

namespace ZeroDisk.Contracts;

[JsonConverter(typeof(WireEnumConverter<OutageKind>))]
public enum OutageKind
{
    [WireName("temporary")] Temporary,
    [WireName("permanent")] Permanent,
}
