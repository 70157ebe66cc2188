using System.Text.Json.Serialization;

namespace ZeroDisk.Contracts;

/// <summary>The kind of child process a node agent supervises.</summary>
[JsonConverter(typeof(WireEnumConverter<ProcessRole>))]
public enum ProcessRole
{
    [WireName("nbdserver")] NbdServer,
    [WireName("tlogserver")] TlogServer,
}
