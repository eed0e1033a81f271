using System.CommandLine;
using System.CommandLine.Invocation;
using Jobs.Client.Commands;

namespace Jobs.Client;

/// <summary>Entry point of the <c>jobs</c> CLI.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) =>
        RunAsync(args, Console.OpenStandardOutput(), Console.OpenStandardError(), CancellationToken.None);

    /// <summary>
    /// Runs one <c>jobs</c> command line, writing to the given streams instead of the console
    /// (for tests), and returns the process exit code (see <see cref="ExitCodes"/>).
    /// </summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, Stream stdout, Stream stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var console = new CliConsole(stdout, stderr);
        var parseResult = JobsCommandLine.Parse(new JobsRootCommand(console), args);

        if (parseResult.Action is ParseErrorAction)
        {
            var command = parseResult.CommandResult.Command;
            var help = command is RootCommand ? "jobs --help" : $"jobs {command.Name} --help";
            // "jobs bogus" is both a missing verb and an unknown token; the token says more.
            var unmatched = parseResult.UnmatchedTokens.Select(token => $"'{token}'").FirstOrDefault();
            var parseError = parseResult.Errors.FirstOrDefault(e => unmatched is not null && e.Message.Contains(unmatched, StringComparison.Ordinal))
                ?? parseResult.Errors[0];
            console.WriteErrorLine($"jobs: {parseError.Message} (see '{help}')");
            return ExitCodes.Usage;
        }

        using var output = CliConsole.CreateWriter(stdout);
        using var error = CliConsole.CreateWriter(stderr);
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // Failures are reported below, in the house format, not as stack traces.
            EnableDefaultExceptionHandler = false,
        };

        try
        {
            return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            string endpoint;
            try
            {
                endpoint = Connection.ClientConfiguration.Resolve(parseResult)["endpoint"].Value;
            }
            catch (CliException)
            {
                endpoint = parseResult.GetValue(GlobalOptions.Endpoint) ?? GlobalOptions.DefaultEndpoint;
            }

            var (exitCode, message) = ErrorReporter.Describe(ex, endpoint, parseResult.GetValue(GlobalOptions.Verbose));
            console.WriteErrorLine(message);
            return exitCode;
        }
    }
}
