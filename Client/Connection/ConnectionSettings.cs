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
    public static ConnectionSettings FromParseResult(ParseResult parseResult)
    {
        var endpointText = parseResult.GetValue(GlobalOptions.Endpoint);
        // The option's validator has already refused anything else.
        var endpoint = GlobalOptions.TryParseEndpoint(endpointText)
            ?? throw new CliException(ExitCodes.Usage, $"invalid --endpoint '{endpointText}': expected https://HOST:PORT");

        var domain = parseResult.GetValue(GlobalOptions.Domain);
        return new ConnectionSettings(
            endpoint,
            parseResult.GetRequiredValue(GlobalOptions.Cert),
            parseResult.GetRequiredValue(GlobalOptions.Key),
            parseResult.GetRequiredValue(GlobalOptions.ServerCa),
            string.IsNullOrEmpty(domain) ? endpoint.IdnHost : domain);
    }
}
