using System.CommandLine;
using System.Text.Json;
using Jobs.Client.Connection;

namespace Jobs.Client.Commands;

/// <summary><c>jobs config show</c>: the connection settings in effect and where each came from.</summary>
internal sealed class ConfigCommand : Command
{
    public ConfigCommand(CliConsole console)
        : base("config", "Show the CLI's configuration: flags win over JOBS_* environment variables, which win over the config file, which wins over defaults.")
    {
        var show = new Command("show", "Print each connection setting, its value and where it came from.");
        show.SetAction(async (parseResult, cancellationToken) =>
        {
            var configuration = ClientConfiguration.Resolve(parseResult);
            if (parseResult.GetValue(GlobalOptions.Output) == OutputFormat.Json)
            {
                using var buffer = new MemoryStream();
                using (var json = new Utf8JsonWriter(buffer))
                {
                    json.WriteStartObject();
                    json.WriteString("configFile", configuration.ConfigFile);
                    json.WriteBoolean("configFileFound", configuration.ConfigFound);
                    foreach (var (name, _, variable) in ClientConfiguration.Settings)
                    {
                        json.WriteStartObject(name);
                        json.WriteString("value", configuration[name].Value);
                        json.WriteString("source", configuration[name].Source);
                        json.WriteString("environment", variable);
                        json.WriteEndObject();
                    }

                    json.WriteEndObject();
                }

                await console.WriteJsonLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()), cancellationToken).ConfigureAwait(false);
                return ExitCodes.Success;
            }

            await console.WriteLineAsync($"config file  {configuration.ConfigFile} ({(configuration.ConfigFound ? "read" : "not found")})", cancellationToken).ConfigureAwait(false);
            foreach (var (name, _, _) in ClientConfiguration.Settings)
            {
                var (value, source) = configuration[name];
                await console.WriteLineAsync($"{name,-11}  {(value.Length == 0 ? "(unset)" : value),-40}  {source}", cancellationToken).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        });
        Subcommands.Add(show);
    }
}
