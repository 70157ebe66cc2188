using System.ComponentModel.DataAnnotations;

namespace ZeroDisk.ServiceDefaults.Options;

/// <summary>
/// The rule of a duration option that has no tighter one: more than zero (a zero timeout or interval would fail or
/// spin at once) and at most a day (more is a slip of unit). Reported as <c>Section:Name: The field Name must be
/// between 00:00:00.001 and 1.00:00:00.</c>
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PositiveDurationAttribute() : RangeAttribute(typeof(TimeSpan), "00:00:00.001", "1.00:00:00");
