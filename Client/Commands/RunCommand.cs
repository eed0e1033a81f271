using System.CommandLine;
using System.CommandLine.Parsing;
using Jobs.Client.Connection;
using Jobs.Client.Following;
using Jobs.Client.Interactive;
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

    public static readonly Option<string?> UserOption = new("--user", "-u")
    {
        Description = "Run as this account of the node (a user name or UID:GID): one your identity is mapped to, any for an admin. By default your identity's first account, else a uid of your own.",
        HelpName = "account",
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

    public static readonly Option<bool> InteractiveOption = new("--interactive", "-i")
    {
        Description = "Stream this terminal's or pipe's stdin to the job (end of file included) and its output back, then exit with the job's exit code.",
    };

    public static readonly Option<bool> TtyOption = new("--tty", "-t")
    {
        Description = "Run the job on a terminal of its own on the server, sized as this one, and type to it (usually -it); stdout and stderr are then one stream. The detach keys (ctrl-p,ctrl-q) leave it running.",
    };

    public static readonly Option<bool> DetachOption = new("--detach", "-d")
    {
        Description = "With -i or -t: print the job's id and return; the job waits for 'jobs attach ID'.",
    };

    private const string TermVariable = "TERM";

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
        Options.Add(UserOption);
        Options.Add(IsolateOption);
        Options.Add(FollowOption);
        Options.Add(WaitOption);
        Options.Add(KillOnDetachOption);
        Options.Add(InteractiveOption);
        Options.Add(TtyOption);
        Options.Add(DetachOption);
        Options.Add(DetachKeysOption.DetachKeys);
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
        request.User = parseResult.GetValue(UserOption) ?? string.Empty;
        request.Node = parseResult.GetValue(NodeOption) ?? string.Empty;

        if (parseResult.GetValue(TimeoutOption) is { } timeout)
        {
            request.Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(timeout);
        }

        request.RequestId = RetriedRun.NewRequestId();
        var reconnectFor = ReconnectOption.Get(parseResult);
        bool follow = parseResult.GetValue(FollowOption);
        bool wait = parseResult.GetValue(WaitOption);
        bool interactive = parseResult.GetValue(InteractiveOption);
        bool tty = parseResult.GetValue(TtyOption);
        bool detach = parseResult.GetValue(DetachOption);
        if ((interactive || tty || detach) && (follow || wait))
        {
            throw new CliException(ExitCodes.Usage, "-i, -t and -d do not go with --follow or --wait: -i and -t follow the job already, -d leaves it");
        }

        if (interactive || tty)
        {
            return await RunInteractiveAsync(parseResult, request, tty, detach, reconnectFor, cancellationToken).ConfigureAwait(false);
        }

        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var response = await RetriedRun.RunAsync(connection.Client, request, reconnectFor, cancellationToken).ConfigureAwait(false);

        if (!follow && !wait)
        {
            await PrintIdAsync(parseResult, response, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// <c>run -i/-t</c>: a Run with the job's stdin kept open (on a terminal of this one's size with
    /// <c>-t</c>), then an attach from the first byte, so that no output is missed while the attach
    /// is made; what is typed meanwhile waits in this terminal.
    /// </summary>
    private async Task<int> RunInteractiveAsync(ParseResult parseResult, RunRequest request, bool tty, bool detach, TimeSpan reconnectFor, CancellationToken cancellationToken)
    {
        var detachKeys = DetachKeysOption.Get(parseResult);

        // Checked before anything starts: a job whose terminal nobody can type to would only wait.
        using var terminal = tty && !detach ? LocalTerminal.Open() ?? throw new CliException(
            ExitCodes.Usage,
            "the input device is not a TTY: -t needs a terminal as stdin (use -i alone to pipe stdin to the job, or -itd to start it detached)") : null;

        request.Stdin = true;
        if (tty)
        {
            request.Terminal = terminal?.Size ?? LocalTerminal.CurrentSizeOrDefault();

            // The job draws for the terminal the person has, unless told otherwise with -e.
            if (!request.Env.ContainsKey(TermVariable) && Environment.GetEnvironmentVariable(TermVariable) is { Length: > 0 } term)
            {
                request.Env[TermVariable] = term;
            }
        }

        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));

        // Raw before the job starts, so that keys typed from now on are not echoed here but by the job.
        terminal?.EnterRawMode();
        RunResponse? response = null;
        try
        {
            response = await RetriedRun.RunAsync(connection.Client, request, reconnectFor, cancellationToken).ConfigureAwait(false);
            if (detach)
            {
                await PrintIdAsync(parseResult, response, cancellationToken).ConfigureAwait(false);
                return ExitCodes.Success;
            }

            var start = new AttachStart { JobId = response.JobId, Stdin = true, Replay = true };
            return await Attacher.AttachAsync(_console, connection.Client, start, terminal, detachKeys, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (response is not null && cancellationToken.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException)
        {
            // Ctrl+C without a terminal (with one, it is the job's key), or SIGTERM: as run --follow.
            terminal?.Restore();
            if (!parseResult.GetValue(KillOnDetachOption))
            {
                throw new CliException(ExitCodes.Cancelled, $"detached; job {response.JobId} keeps running ('jobs attach {response.JobId}' joins it again)");
            }

            using var killTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var killed = await connection.Client.KillAsync(new KillRequest { JobId = response.JobId }, cancellationToken: killTimeout.Token).ConfigureAwait(false);
            throw new CliException(ExitCodes.Cancelled, $"detached; job {response.JobId} was killed: {StatusFormatter.Format(killed.Status)}");
        }
    }

    private Task PrintIdAsync(ParseResult parseResult, RunResponse response, CancellationToken cancellationToken) =>
        parseResult.GetValue(GlobalOptions.Output) == OutputFormat.Json
            ? _console.WriteJsonAsync(response, cancellationToken)
            : _console.WriteLineAsync(response.JobId, cancellationToken);
}
