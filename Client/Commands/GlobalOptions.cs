using System.CommandLine;

namespace Jobs.Client.Commands;

/// <summary>
/// Options every verb understands; recursive so that they may also follow the verb
/// (<c>jobs ps ID --endpoint ...</c>). Defaults fit a run from the repository root.
/// </summary>
internal static class GlobalOptions
{
    public const string DefaultEndpoint = "https://localhost:50051";

    public static readonly Option<string> Endpoint = new("--endpoint")
    {
        Description = "Gateway address (https://HOST:PORT). Also JOBS_ENDPOINT or the config file; flags win.",
        HelpName = "url",
        DefaultValueFactory = _ => DefaultEndpoint,
        Recursive = true,
        Validators = { ValidateEndpoint },
    };

    public static readonly Option<string> Cert = new("--cert")
    {
        Description = "Client certificate (PEM), followed by its intermediate CA certificates if it has any.",
        HelpName = "file",
        DefaultValueFactory = _ => "certs/client1.pem",
        Recursive = true,
    };

    public static readonly Option<string> Key = new("--key")
    {
        Description = "Private key of the client certificate (PEM, PKCS#8).",
        HelpName = "file",
        DefaultValueFactory = _ => "certs/client1.key",
        Recursive = true,
    };

    public static readonly Option<string> ServerCa = new("--server-ca")
    {
        Description = "CA certificate(s) (PEM) that the server certificate must chain to; the only trust root used.",
        HelpName = "file",
        DefaultValueFactory = _ => "certs/server_ca.pem",
        Recursive = true,
    };

    public static readonly Option<string?> Domain = new("--domain")
    {
        Description = "Name the server certificate must match [default: the endpoint's host].",
        HelpName = "name",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "On an error, add the status code and the underlying error to the message.",
        Recursive = true,
    };

    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "text for people, or json for scripts: one JSON object, or one per line (NDJSON) for streams.",
        HelpName = "text|json",
        DefaultValueFactory = _ => OutputFormat.Text,
        Recursive = true,
    };

    public static IEnumerable<Option> All => [Endpoint, Cert, Key, ServerCa, Domain, Verbose, Output];

    /// <summary>Parses an endpoint; null when it is not an absolute https URL.</summary>
    public static Uri? TryParseEndpoint(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps && uri.Host.Length > 0
            ? uri
            : null;

    private static void ValidateEndpoint(System.CommandLine.Parsing.OptionResult result)
    {
        var value = result.GetValueOrDefault<string>();
        if (TryParseEndpoint(value) is null)
        {
            // Plain http is refused: every call must be authenticated with mutual TLS.
            result.AddError($"invalid --endpoint '{value}': expected https://HOST:PORT");
        }
    }
}

/// <summary>How results are printed.</summary>
internal enum OutputFormat
{
    Text,
    Json,
}
