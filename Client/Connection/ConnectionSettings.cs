using System.CommandLine;
using Jobs.Client.Commands;

namespace Jobs.Client.Connection;

/// <summary>Where and as whom to connect, as given by the global options.</summary>
internal sealed record ConnectionSettings(
    Uri Endpoint,
    string CertPath,
    string KeyPath,
    string ServerCaPath,
    string Domain)
{
    /// <summary>The settings in effect: flags, then <c>JOBS_*</c> variables, then the config file, then defaults.</summary>
    public static ConnectionSettings FromParseResult(ParseResult parseResult)
    {
        var configuration = ClientConfiguration.Resolve(parseResult);
        var (endpointText, source) = configuration["endpoint"];
        var endpoint = GlobalOptions.TryParseEndpoint(endpointText)
            ?? throw new CliException(ExitCodes.Usage, $"invalid endpoint '{endpointText}' (from {source}): expected https://HOST:PORT");

        var domain = configuration["domain"].Value;
        return new ConnectionSettings(
            endpoint,
            configuration["cert"].Value,
            configuration["key"].Value,
            configuration["serverCa"].Value,
            string.IsNullOrEmpty(domain) ? endpoint.IdnHost : domain);
    }
}
