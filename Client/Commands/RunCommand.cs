using System.CommandLine;
using System.CommandLine.Parsing;
using Jobs.Client.Connection;
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

    public static readonly Option<int?> PidsOption = new("--pids")
    {
        Description = "The most processes and threads the job's tree may hold at once (a fork beyond it fails).",
        HelpName = "count",
    };

    public static readonly Option<double?> CpuOption = new("--cpu")
    {
        Description = "CPU time the job's tree may use, in cores: 0.5 is half of one core, 2 is two.",
        HelpName = "cores",
    };

    public static readonly Option<long?> MemoryOption = new("--memory")
    {
        Description = "RAM the job's tree may use, without swap, e.g. 512M, 2G (K, M, G are 1024-based). Beyond it the kernel kills a process of the job.",
        HelpName = "size",
        CustomParser = ParseSize,
    };

    public static readonly Option<string[]> IoReadOption = RateOption("--io-read-bps", "Read rate from the server's block devices, per second: RATE for every device, or DEVICE=RATE (e.g. /dev/sda=50M); repeatable.");

    public static readonly Option<string[]> IoWriteOption = RateOption("--io-write-bps", "Write rate to the server's block devices, per second: RATE for every device, or DEVICE=RATE; repeatable.");

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
        Options.Add(PidsOption);
        Options.Add(CpuOption);
        Options.Add(MemoryOption);
        Options.Add(IoReadOption);
        Options.Add(IoWriteOption);
        Options.Add(NodeOption);
        Options.Add(IsolateOption);
        Options.Add(FollowOption);
        Options.Add(WaitOption);
        Options.Add(KillOnDetachOption);
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

    private static long? ParseSize(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (Jobs.Platform.ByteSize.TryParse(text, out long bytes))
        {
            return bytes;
        }

        result.AddError($"'{text}' is not a size (examples: 512M, 2G, 1048576)");
        return null;
    }

    private static Option<string[]> RateOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "[device=]rate",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
        Validators = { ValidateRates },
    };

    private static void ValidateRates(OptionResult result)
    {
        foreach (var token in result.Tokens)
        {
            if (!TryParseRate(token.Value, out _))
            {
                result.AddError($"{result.Option.Name} takes RATE or DEVICE=RATE (e.g. 50M, /dev/sda=10M), not '{token.Value}'");
            }
        }
    }

    private static bool TryParseRate(string text, out DeviceRate rate)
    {
        int equals = text.LastIndexOf('=');
        string device = equals < 0 ? string.Empty : text[..equals];
        rate = new DeviceRate { Device = device };
        if ((equals < 0 || device.Length > 0) && Jobs.Platform.ByteSize.TryParse(text[(equals + 1)..], out long bytes))
        {
            rate.BytesPerSecond = bytes;
            return true;
        }

        return false;
    }

    private static Limits? ReadLimits(ParseResult parseResult)
    {
        var limits = new Limits();
        if (parseResult.GetValue(PidsOption) is { } pids)
        {
            limits.Pids = pids >= 1 ? pids : throw new CliException(ExitCodes.Usage, "--pids must be at least 1");
        }

        if (parseResult.GetValue(CpuOption) is { } cpu)
        {
            limits.Cpu = double.IsFinite(cpu) && cpu >= 0.01 ? cpu : throw new CliException(ExitCodes.Usage, "--cpu must be at least 0.01 (cores)");
        }

        limits.MemoryBytes = parseResult.GetValue(MemoryOption) ?? 0;
        foreach (string text in parseResult.GetValue(IoReadOption) ?? [])
        {
            limits.IoRead.Add(TryParseRate(text, out var rate) ? rate : null);
        }

        foreach (string text in parseResult.GetValue(IoWriteOption) ?? [])
        {
            limits.IoWrite.Add(TryParseRate(text, out var rate) ? rate : null);
        }

        return limits.Equals(new Limits()) ? null : limits;
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

        request.Limits = ReadLimits(parseResult);
        request.Isolate = parseResult.GetValue(IsolateOption);
        request.Node = parseResult.GetValue(NodeOption) ?? string.Empty;

        if (parseResult.GetValue(TimeoutOption) is { } timeout)
        {
            request.Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(timeout);
        }

        using var connection = JobsConnection.Open(ConnectionSettings.FromParseResult(parseResult));
        var response = await connection.Client.RunAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);

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
            var end = follow
                ? await writer.FollowAsync(connection.Client, new LogsRequest { JobId = response.JobId }, cancellationToken).ConfigureAwait(false)
                : await JobOutputWriter.WaitAsync(connection.Client, response.JobId, cancellationToken).ConfigureAwait(false);
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
