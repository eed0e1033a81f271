using System.CommandLine;
using System.CommandLine.Parsing;
using Jobs.Client.Connection;
using Jobs.Client.Following;
using Jobs.Protos;

namespace Jobs.Client.Commands;

/// <summary><c>jobs run [--] COMMAND [ARGS...]</c>: starts a job and prints its id.</summary>
/// <remarks>
/// Everything after COMMAND belongs to the job, options included; <see cref="JobsCommandLine"/>
/// makes sure System.CommandLine does not parse them.
/// </remarks>
internal sealed class RunCommand : Command
{
    public static readonly Argument<string> CommandArgument = new("command")
    {
        Description = "Program to run on the server: a path, or a name looked up in the server's PATH.",
        Validators = { RefuseOptionLikeCommand },
    };

    public static readonly Argument<string[]> ArgsArgument = new("args")
    {
        Description = "Arguments for the program, passed as they are, including ones that look like options.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static readonly Option<string[]> EnvOption = new("--env", "-e")
    {
        Description = "Set an environment variable for the job (NAME=VALUE); repeatable.",
        HelpName = "NAME=VALUE",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
        Validators = { ValidateEnv },
    };

    public static readonly Option<string?> CwdOption = new("--cwd")
    {
        Description = "Working directory of the job on the server.",
        HelpName = "dir",
    };

    public static readonly Option<TimeSpan?> TimeoutOption = new("--timeout")
    {
        Description = "Stop the job (SIGTERM, grace, SIGKILL) once it has run this long, e.g. 30s, 5m, 1h.",
        HelpName = "duration",
        CustomParser = Durations.Parse,
    };

    public static readonly Option<string?> NodeOption = new("--node")
    {
        Description = "Run on this node (see 'jobs nodes'); by default the live node with the fewest running jobs.",
        HelpName = "name",
        CompletionSources = { CompletionCommand.NodeNames },
    };

    public static readonly Option<bool> IsolateOption = new("--isolate")
    {
        Description = "Run the job in namespaces of its own: it is PID 1, sees only its processes, and has only a loopback network.",
    };

    public static readonly Option<bool> FollowOption = new("--follow", "-f")
    {
        Description = "Stream the job's output like logs, then exit with the job's exit code (128 + signal when killed, 6 when its node left the cluster). Ctrl+C detaches and leaves the job running.",
    };

    public static readonly Option<bool> WaitOption = new("--wait", "-w")
    {
        Description = "Wait for the job to end without showing its output, then exit with its exit code.",
    };

    public static readonly Option<bool> KillOnDetachOption = new("--kill-on-detach")
    {
        Description = "With --follow or --wait: Ctrl+C kills the job instead of leaving it running.",
    };

    private readonly CliConsole _console;

    public RunCommand(CliConsole console)
        : base("run", "Start a command on the server and print the new job's id. Everything after COMMAND is passed to it; options of jobs itself go before COMMAND.")
    {
        _console = console;
        Arguments.Add(CommandArgument);
        Arguments.Add(ArgsArgument);
        Options.Add(EnvOption);
        Options.Add(CwdOption);
        Options.Add(TimeoutOption);
        Options.Add(LimitOptions.Pids);
        Options.Add(LimitOptions.Cpu);
        Options.Add(LimitOptions.Memory);
        Options.Add(LimitOptions.IoRead);
        Options.Add(LimitOptions.IoWrite);
        Options.Add(NodeOption);
        Options.Add(IsolateOption);
        Options.Add(FollowOption);
        Options.Add(WaitOption);
        Options.Add(KillOnDetachOption);
        Options.Add(ReconnectOption.ReconnectFor);
        SetAction(ExecuteAsync);
    }

    /// <summary>
    /// An unknown option before COMMAND reaches here as COMMAND; taking it for a program would
    /// hide a typo behind a confusing server error.
    /// </summary>
    private static void RefuseOptionLikeCommand(ArgumentResult result)
    {
        if (result.Tokens is [{ Value: ['-', ..] value }, ..])
        {
            result.AddError($"unknown option '{value}' (a program whose name starts with '-' must be given as a path, e.g. './{value}')");
        }
    }

    private static void ValidateEnv(OptionResult result)
    {
        foreach (var token in result.Tokens)
        {
            if (token.Value.IndexOf('=', StringComparison.Ordinal) <= 0)
            {
                result.AddError($"--env takes NAME=VALUE, not '{token.Value}'");
            }
        }
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var request = new RunRequest
        {
            Command = parseResult.GetRequiredValue(CommandArgument),
            Cwd = parseResult.GetValue(CwdOption) ?? string.Empty,
        };
        request.Args.AddRange(parseResult.GetValue(ArgsArgument) ?? []);
        foreach (string variable in parseResult.GetValue(EnvOption) ?? [])
        {
            int equals = variable.IndexOf('=', StringComparison.Ordinal);
            request.Env[variable[..equals]] = variable[(equals + 1)..];
        }

        request.Limits = LimitOptions.ReadLimits(parseResult);
        request.Isolate = parseResult.GetValue(IsolateOption);
        request.Node = parseResult.GetValue(NodeOption) ?? string.Empty;

        if (parseResult.GetValue(TimeoutOption) is { } timeout)
        {
            request.Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(timeout);
        }

        request.RequestId = RetriedRun.NewRequestId();
        var reconnectFor = ReconnectOption.Get(parseResult);
        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var response = await RetriedRun.RunAsync(connection.Client, request, reconnectFor, cancellationToken).ConfigureAwait(false);

        bool follow = parseResult.GetValue(FollowOption);
        bool wait = parseResult.GetValue(WaitOption);
        if (!follow && !wait)
        {
            if (parseResult.GetValue(GlobalOptions.Output) == OutputFormat.Json)
            {
                await _console.WriteJsonAsync(response, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _console.WriteLineAsync(response.JobId, cancellationToken).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }

        try
        {
            var format = parseResult.GetValue(GlobalOptions.Output);
            var writer = new JobOutputWriter(_console, follow ? format : OutputFormat.Text);

            // Waiting needs only the end: the server answers with it and sends none of the output.
            var follower = new JobFollower(connection.Client, _console, reconnectFor, reached: true);
            var end = follow
                ? await follower.FollowAsync(writer, new LogsRequest { JobId = response.JobId }, cancellationToken).ConfigureAwait(false)
                : await follower.WaitAsync(response.JobId, cancellationToken).ConfigureAwait(false);
            if (!follow && format == OutputFormat.Json)
            {
                await _console.WriteJsonAsync(end, cancellationToken).ConfigureAwait(false);
            }

            writer.ReportIfLost(response.JobId, end);
            return JobOutputWriter.ExitCodeOf(end);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException)
        {
            if (!parseResult.GetValue(KillOnDetachOption))
            {
                throw new CliException(ExitCodes.Cancelled, $"detached; job {response.JobId} keeps running ('jobs logs {response.JobId}' follows it again)");
            }

            using var killTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var killed = await connection.Client.KillAsync(new KillRequest { JobId = response.JobId }, cancellationToken: killTimeout.Token).ConfigureAwait(false);
            throw new CliException(ExitCodes.Cancelled, $"detached; job {response.JobId} was killed: {StatusFormatter.Format(killed.Status)}");
        }
    }
}
