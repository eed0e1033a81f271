using System.CommandLine;

namespace Jobs.Client.Commands;

/// <summary><c>--reconnect-for</c> of the verbs that follow or wait for a job (<c>logs</c>, <c>wait</c>, <c>run</c>).</summary>
internal static class ReconnectOption
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(60);

    public static readonly Option<TimeSpan?> ReconnectFor = new("--reconnect-for")
    {
        Description = "When the connection to the server is lost (a gateway restarted), keep trying to reconnect for this long and resume where the output was, e.g. 30s, 5m; 0 gives up at once [default: 60s].",
        HelpName = "duration",
        CustomParser = Durations.Parse,
    };

    /// <summary>The reconnect time given, or the default.</summary>
    public static TimeSpan Get(ParseResult parseResult) => parseResult.GetValue(ReconnectFor) ?? Default;
}
