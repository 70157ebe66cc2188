using System.Collections.Frozen;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ZeroDisk.Contracts;

/// <summary>The exact spelling of an enum value on the wire (etcd, stderr lines, JSON).</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class WireNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Converts enums to and from their <see cref="WireNameAttribute"/> spellings; one table per enum.</summary>
public static class WireNames<TEnum> where TEnum : struct, Enum
{
    private static readonly FrozenDictionary<TEnum, string> ToWireTable =
        typeof(TEnum).GetFields(BindingFlags.Public | BindingFlags.Static)
            .ToFrozenDictionary(f => (TEnum)f.GetValue(null)!, f => f.GetCustomAttribute<WireNameAttribute>()?.Name ?? f.Name);

    private static readonly FrozenDictionary<string, TEnum> FromWireTable =
        ToWireTable.ToFrozenDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);

    public static IReadOnlyCollection<string> All => FromWireTable.Keys;

    public static string ToWire(TEnum value) =>
        ToWireTable.TryGetValue(value, out var name) ? name : throw new ArgumentOutOfRangeException(nameof(value), value, null);

    public static bool TryParse(string? wire, out TEnum value)
    {
        if (wire is not null && FromWireTable.TryGetValue(wire, out value)) return true;
        value = default;
        return false;
    }

    public static TEnum Parse(string wire) =>
        TryParse(wire, out var value)
            ? value
            : throw new FormatException($"'{wire}' is not a valid {typeof(TEnum).Name}; expected one of: {string.Join(", ", All)}");
}

public static class WireNameExtensions
{
    public static string ToWire<TEnum>(this TEnum value) where TEnum : struct, Enum => WireNames<TEnum>.ToWire(value);
}

public sealed class WireEnumConverter<TEnum> : JsonConverter<TEnum> where TEnum : struct, Enum
{
    public override TEnum Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"{typeof(TEnum).Name} must be a string");
        var text = reader.GetString();
        return WireNames<TEnum>.TryParse(text, out var value)
            ? value
            : throw new JsonException($"'{text}' is not a valid {typeof(TEnum).Name}; expected one of: {string.Join(", ", WireNames<TEnum>.All)}");
    }

    public override void Write(Utf8JsonWriter writer, TEnum value, JsonSerializerOptions options) =>
        writer.WriteStringValue(WireNames<TEnum>.ToWire(value));
}
