using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ZeroDisk.ServiceDefaults.Options;

public static class ValidatedOptions
{
    /// <summary>
    /// The one way a service reads a settings class: bound from <paramref name="section"/>, checked by its data
    /// annotations (and <see cref="IValidatableObject"/>) when the host starts, and injectable as <typeparamref name="T"/>
    /// itself as well as <see cref="IOptions{T}"/>. A problem is reported as <c>Section:Property: message</c>.
    /// </summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section) where T : class
    {
        services.AddSingleton<IValidateOptions<T>>(new SectionValidation<T>(section));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<T>>().Value);
        return services.AddOptions<T>().BindConfiguration(section).ValidateOnStart();
    }
}

/// <summary>Data-annotation validation that names each failing option by its configuration path.</summary>
internal sealed class SectionValidation<T>(string section) : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
            return ValidateOptionsResult.Success;
        return ValidateOptionsResult.Fail(results.Select(r => r.MemberNames.FirstOrDefault() is { } member
            ? $"{section}:{member}: {r.ErrorMessage}"
            : $"{section}: {r.ErrorMessage}"));
    }
}
