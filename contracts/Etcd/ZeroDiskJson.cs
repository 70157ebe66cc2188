using System.Text.Json;
using System.Text.Json.Serialization;

namespace ZeroDisk.Contracts;

/// <summary>The one JSON shape of every etcd value: camelCase, as the original 0-Disk wrote them.</summary>
public static class ZeroDiskJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException($"{typeof(T).Name} must not be null");
}
