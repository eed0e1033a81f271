using System.CommandLine;
using System.Text.Json;
using Jobs.Client.Commands;

namespace Jobs.Client.Connection;

/// <summary>
/// Where each connection setting comes from: a flag, else an environment variable (<c>JOBS_*</c>),
/// else the user's config file (<c>jobs/config.json</c> in the user's config folder, or
/// <c>$JOBS_CONFIG</c>), else the default. Relative paths in the file are relative to the file.
/// </summary>
internal sealed class ClientConfiguration
{
    private readonly Dictionary<string, (string Value, string Source)> _values = new(StringComparer.Ordinal);

    private ClientConfiguration(string configFile, bool configFound)
    {
        ConfigFile = configFile;
        ConfigFound = configFound;
    }

    /// <summary>The settings in the order <c>config show</c> prints them.</summary>
    public static IReadOnlyList<(string Name, Option Option, string Environment)> Settings { get; } =
    [
        ("endpoint", GlobalOptions.Endpoint, "JOBS_ENDPOINT"),
        ("cert", GlobalOptions.Cert, "JOBS_CERT"),
        ("key", GlobalOptions.Key, "JOBS_KEY"),
        ("serverCa", GlobalOptions.ServerCa, "JOBS_SERVER_CA"),
        ("domain", GlobalOptions.Domain, "JOBS_DOMAIN"),
    ];

    public string ConfigFile { get; }

    public bool ConfigFound { get; }

    /// <summary>A setting's value (empty when unset) and where it came from.</summary>
    public (string Value, string Source) this[string name] => _values[name];

    public static string DefaultConfigFile() =>
        Environment.GetEnvironmentVariable("JOBS_CONFIG") is { Length: > 0 } path
            ? Path.GetFullPath(path)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify), "jobs", "config.json");

    /// <exception cref="CliException">The config file exists but is not a JSON object of strings.</exception>
    public static ClientConfiguration Resolve(ParseResult parseResult)
    {
        string file = DefaultConfigFile();
        var fromFile = ReadFile(file);
        var configuration = new ClientConfiguration(file, fromFile is not null);
        foreach (var (name, option, variable) in Settings)
        {
            configuration._values[name] = parseResult.GetResult(option) is { Implicit: false } given
                ? (given.Tokens.Count > 0 ? given.Tokens[0].Value : string.Empty, $"flag {option.Name}")
                : Environment.GetEnvironmentVariable(variable) is { Length: > 0 } environment
                    ? (environment, $"environment {variable}")
                    : fromFile?.GetValueOrDefault(name) is { } value
                        ? (name is "endpoint" or "domain" ? value : Path.GetFullPath(value, Path.GetDirectoryName(file)!), $"file {file}")
                        : (parseResult.GetResult(option)?.GetValueOrDefault<string?>() ?? string.Empty, "default");
        }

        return configuration;
    }

    private static Dictionary<string, string>? ReadFile(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!Settings.Any(s => s.Name == property.Name))
                {
                    throw new CliException(ExitCodes.Usage, $"config file {path}: unknown setting '{property.Name}' (known: {string.Join(", ", Settings.Select(s => s.Name))})");
                }

                values[property.Name] = property.Value.ValueKind == JsonValueKind.String
                    ? property.Value.GetString()!
                    : throw new CliException(ExitCodes.Usage, $"config file {path}: '{property.Name}' must be a string");
            }

            return values;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or IOException)
        {
            throw new CliException(ExitCodes.Usage, $"config file {path} is not a JSON object of settings: {e.Message}");
        }
    }
}
