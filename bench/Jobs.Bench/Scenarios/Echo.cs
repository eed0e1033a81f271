using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Jobs.Platform;
using Jobs.Protos;
using PtySize = Jobs.Platform.TerminalSize;

namespace Jobs.Bench.Scenarios;

/// <summary>
/// The round trip of one key through <c>run -it -- cat</c>: a byte typed, the same byte back, echoed by
/// the server's terminal (its line discipline has ECHO on; cat itself only prints whole lines). Two
/// rows with a verdict: a gRPC client on the wire alone (Run with a terminal, then Attach), and the
/// real CLI (<c>jobs run -it</c>) on a pseudo-terminal the bench opens, the figure a person feels. A
/// third for reference: the same keys through the job's stdin socket alone (<c>run -i</c>), echoed by cat.
/// </summary>
/// <remarks>
/// Every byte that comes back is checked against what the terminal must show: each key's echo, and
/// after every <see cref="LineLength"/> keys an Enter (not timed) whose echo and cat's copy of the
/// line come back in full before the next key. Keys go one at a time with a pause after each echo,
/// far faster than a person types but slow enough that nothing queues behind the key being timed.
/// </remarks>
internal static class Echo
{
    public static readonly TimeSpan P99Limit = TimeSpan.FromMilliseconds(5);
    private const int WarmUpKeys = 500;
    private const int LineLength = 50;
    private const byte Enter = (byte)'\r';
    private const byte CtrlD = 0x04;
    private const string Cat = "/bin/cat";
    private static readonly PtySize Size = new(24, 80);
    private static readonly TimeSpan KeyPause = TimeSpan.FromMilliseconds(3);
    private static readonly TimeSpan KeyTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RestPeriod = TimeSpan.FromSeconds(2);

    // How long the CLI may take to start its job and to relay a first key (a JIT CLI on a loaded
    // machine takes seconds), and to end once its job has.
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);

    // Output of the CLI's terminal is read until it has been silent this long, to skip what its
    // start printed (the probe keys, cat's copy of them) before the timed keys.
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    public static async Task RunAsync(ScenarioContext ctx)
    {
        int count = ctx.Options.Count ?? 2000;
        ctx.Report.Line("parameters", $"{Units.Size(ctx.Options.WarmUpBytes)} flood job followed first (--warm-up), then a gRPC session like the first row's, not judged; per row {count} keys timed after {WarmUpKeys} untimed and a 1 s pause, one at a time, {KeyPause.TotalMilliseconds:F0} ms after each echo "
            + $"(a person types ~100 ms apart); Enter after every {LineLength} keys, not timed, cat's copy of the line checked; job: {Cat} on a {Size.Columns}x{Size.Rows} terminal");
        if (!File.Exists(Cat))
        {
            ctx.Report.Failure($"{Cat} does not exist");
            return;
        }

        var server = await ctx.StartServerAsync();
        try
        {
            var client = ctx.Clients.Create(server.Endpoint);
            // The output path (recording, reads, server streaming) on optimized code before the first
            // row; then a whole session of keys, reported but not judged: whichever row came first
            // cost the server 1.6-1.8 times the CPU of the same path in the next row and grew its RSS
            // by 11-30 MB (the next rows: under 6 MB), 500 warm-up keys of its own notwithstanding.
            await ctx.WarmUpAsync(client);
            await RowAsync(ctx, "warm-up", () => GrpcRowAsync(ctx, server, client, count, "warm-up", terminal: true));
            var grpc = await RowAsync(ctx, "grpc", () => GrpcRowAsync(ctx, server, client, count, "grpc", terminal: true));
            var cli = await RowAsync(ctx, "cli", () => CliRowAsync(ctx, server, client, count));
            // For reference, without a verdict: the same keys through a job's stdin socket and cat's own echo, no terminal.
            await RowAsync(ctx, "grpc -i", () => GrpcRowAsync(ctx, server, client, count, "grpc -i", terminal: false));
            ctx.Report.Line("target", $"p99 <= {Units.Millis(P99Limit)} (loopback)");
            Verdict(ctx, "grpc", grpc);
            Verdict(ctx, "cli", cli);
        }
        finally
        {
            await ctx.StopServerAsync(server);
        }
    }

    // A failed call fails its row only: the other still says what it measures.
    private static async Task<List<TimeSpan>?> RowAsync(ScenarioContext ctx, string row, Func<Task<List<TimeSpan>?>> measure)
    {
        try
        {
            return await measure();
        }
        catch (RpcException e) when (!ctx.Token.IsCancellationRequested)
        {
            ctx.Report.Failure($"{row}: {e.StatusCode} {e.Status.Detail}");
            return null;
        }
    }

    private static void Verdict(ScenarioContext ctx, string name, List<TimeSpan>? sorted)
    {
        if (sorted is not null)
        {
            var p99 = Units.PercentileValue(sorted, 0.99);
            ctx.Report.Verdict(name, p99 <= P99Limit, $"p99/limit = {Units.Ratio(p99 / P99Limit)} (target <= 1.000)");
        }
    }

    /// <summary>
    /// Run (on a terminal, or with stdin alone: then cat itself echoes each byte), Attach with stdin and
    /// replay, the keys, then end of input: cat exits 0. Null when it failed (reported).
    /// </summary>
    private static async Task<List<TimeSpan>?> GrpcRowAsync(ScenarioContext ctx, Deployment server, JobsClient client, int count, string row, bool terminal)
    {
        Report.Progress($"{row}: Run {Cat} {(terminal ? "on a terminal" : "with stdin")}, Attach, {WarmUpKeys} + {count} keys");
        var run = ctx.Job(Cat);
        run.Stdin = true;
        if (terminal)
        {
            run.Terminal = new Protos.TerminalSize { Rows = (uint)Size.Rows, Columns = (uint)Size.Columns };
            run.Env["TERM"] = "xterm-256color";
        }

        string id = (await client.RunAsync(run, cancellationToken: ctx.Token)).JobId;
        int pid = 0;
        bool ended = false;
        try
        {
            using var call = client.Attach(cancellationToken: ctx.Token);
            await call.RequestStream.WriteAsync(new AttachRequest { Start = new AttachStart { JobId = id, Stdin = true, Replay = true } }, ctx.Token);
            if (!await call.ResponseStream.MoveNext(ctx.Token) || call.ResponseStream.Current.ItemCase != AttachResponse.ItemOneofCase.Attached)
            {
                ctx.Report.Failure($"{row}: Attach did not answer Attached first ({Describe(call.ResponseStream.Current)})");
                return null;
            }

            var attached = call.ResponseStream.Current.Attached;
            pid = attached.Status.Pid;
            if (!attached.Input || attached.Status.Terminal != terminal)
            {
                ctx.Report.Failure($"{row}: Attached says input={attached.Input}, terminal={attached.Status.Terminal}; expected true, {terminal}");
                return null;
            }

            var keyboard = new GrpcKeyboard(call);
            var screen = new Screen(keyboard, terminal);
            var (times, split, rss, cpu) = await TimedKeysAsync(ctx, server, screen, count, null);

            // End of input on an empty line: the terminal (or the socket's shutdown) gives cat its end of file.
            await call.RequestStream.WriteAsync(new AttachRequest { EndOfInput = new EndOfInput() }, ctx.Token);
            var end = await keyboard.ReadToEndAsync(ctx.Token);
            ended = end is not null;
            times.Sort();
            ctx.Report.Line($"figure ({row})", $"{count} keys, Attach input to its echo as an OutputChunk: {Describe(times)}");
            if (split is not null)
            {
                ctx.Report.Line($"split ({row})", split);
            }

            ctx.Report.Line($"cpu ({row})", cpu);
            ctx.Report.Line($"server RSS ({row})", rss);
            ctx.Report.Line($"end ({row})", end is null ? "the Attach call ended without the job's end" : $"EndOfInput: {StatusText.Of(end)}{Left(pid)}");
            if (end is null || end.State != JobState.Exited || end.ExitCode != 0)
            {
                ctx.Report.Failure($"{row}: cat did not exit 0 after EndOfInput");
            }

            CheckGone(ctx, row, pid);
            return times;
        }
        catch (InvalidDataException e)
        {
            ctx.Report.Failure($"{row}: {e.Message}");
            return null;
        }
        finally
        {
            if (!ended)
            {
                await KillAsync(client, id);
            }
        }
    }

    /// <summary>
    /// The CLI's <c>run -it -- cat</c> on a terminal of the bench's: probe keys until one reaches the job
    /// (seen by a watching Attach of the bench's own, then detached), then the keys, then Ctrl+D: cat
    /// exits 0 and so does the CLI. Null when it failed (reported).
    /// </summary>
    private static async Task<List<TimeSpan>?> CliRowAsync(ScenarioContext ctx, Deployment server, JobsClient client, int count)
    {
        var (program, prefix, kind) = FindCli(ctx.Paths);
        if (program is null)
        {
            ctx.Report.Failure($"cli: no CLI at {ctx.Paths.AotCli} (dotnet publish Client -c Release -r linux-x64) nor {JitCli(ctx.Paths)} (dotnet build -c Release Client)");
            return null;
        }

        string certs = ctx.Paths.Certs;
        List<string> args =
        [
            .. prefix,
            "--endpoint", server.Endpoint, "--domain", "localhost",
            "--cert", Path.Combine(certs, "client1.pem"), "--key", Path.Combine(certs, "client1.key"), "--server-ca", Path.Combine(certs, "server_ca.pem"),
            "run", "-it",
        ];
        if (ctx.Options.JobNode.Length > 0)
        {
            args.AddRange(["--node", ctx.Options.JobNode]);
        }

        args.AddRange(["--", Cat]);
        ctx.Report.Line("cli", $"{kind}: {program} {string.Join(' ', args)}, on a {Size.Columns}x{Size.Rows} pseudo-terminal of the bench's (Jobs.Platform)");

        var known = (await client.ListAsync(new ListRequest(), cancellationToken: ctx.Token)).Jobs.Select(j => j.JobId).ToHashSet();
        var launcher = ChildLauncher.CreateForCurrentOS();
        IChild? cli = null;
        string? id = null;
        bool exited = false;
        try
        {
            Report.Progress($"cli: {kind} jobs run -it -- {Cat} on a terminal, {WarmUpKeys} + {count} keys");
            cli = await launcher.StartAsync(new ChildSpec(program, args, ctx.Paths.Root, new Dictionary<string, string> { ["TERM"] = "xterm-256color" }, Terminal: Size), ctx.Token);
            if (cli.Input is not { } input)
            {
                ctx.Report.Failure("cli: the platform gave the CLI's terminal no input (IChild.Input is null)");
                return null;
            }

            id = await FindJobAsync(ctx, client, known, cli);
            if (id is null)
            {
                return null;
            }

            var keyboard = new PtyKeyboard(cli, input);
            var screen = new Screen(keyboard, terminal: true);
            if (!await ProbeAsync(ctx, client, id, keyboard))
            {
                return null;
            }

            // Enter clears what the probe keys left on cat's line; then the start's output is skipped.
            await keyboard.TypeAsync(Enter, ctx.Token);
            await keyboard.SkipUntilQuietAsync(Quiet, ctx.Token);
            var (times, _, rss, cpu) = await TimedKeysAsync(ctx, server, screen, count, cli.Pid);

            await keyboard.TypeAsync(CtrlD, ctx.Token);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ctx.Token);
            timeout.CancelAfter(CliTimeout);
            ChildExit exit;
            try
            {
                await keyboard.SkipToEndAsync(timeout.Token);
                exit = await cli.Exited.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!ctx.Token.IsCancellationRequested)
            {
                ctx.Report.Failure($"cli: still running {CliTimeout.TotalSeconds:F0} s after Ctrl+D");
                return null;
            }

            exited = true;
            var status = (await client.PsAsync(new PsRequest { JobId = id }, cancellationToken: ctx.Token)).Status;
            times.Sort();
            ctx.Report.Line("figure (cli)", $"{count} keys, typed on the CLI's terminal to its echo there: {Describe(times)}");
            ctx.Report.Line("cpu (cli)", cpu);
            ctx.Report.Line("server RSS (cli)", rss);
            ctx.Report.Line("end (cli)", $"Ctrl+D: the CLI exited {(exit.ExitCode is { } code ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : exit.SignalName)}; its job {StatusText.Of(status)}{Left(status.Pid)}");
            if (exit.ExitCode != 0 || status.State != JobState.Exited || status.ExitCode != 0)
            {
                ctx.Report.Failure("cli: after Ctrl+D cat and the CLI should both exit 0");
            }

            CheckGone(ctx, "cli", status.Pid);
            return times;
        }
        catch (InvalidDataException e)
        {
            ctx.Report.Failure($"cli: {e.Message}");
            return null;
        }
        finally
        {
            if (cli is not null && !exited)
            {
                await cli.KillAsync(CancellationToken.None);
            }

            if (id is not null && !exited)
            {
                await KillAsync(client, id);
            }

            (launcher as IDisposable)?.Dispose();
        }
    }

    /// <summary>Warm-up keys, a pause, then the timed keys, with the server's CPU and RSS around them; throws <see cref="InvalidDataException"/> when a key fails.</summary>
    private static async Task<(List<TimeSpan> Times, string? Split, string Rss, string Cpu)> TimedKeysAsync(ScenarioContext ctx, Deployment server, Screen screen, int count, int? cliPid)
    {
        // The line is empty: Enter comes back as the terminal's new line, and cat's empty line after it.
        await screen.EnterAsync([], ctx.Token);
        await TypeKeysAsync(screen, WarmUpKeys, ctx.Token);
        // The runtime compiles hot methods again in the background shortly after they get hot.
        await Task.Delay(TimeSpan.FromSeconds(1), ctx.Token);
        var before = server.Rss();
        var cpu = CpuMeter.Start(server);
        var cliCpu = cliPid is { } pid ? Processes.CpuTime(pid) : TimeSpan.Zero;
        var times = await TypeKeysAsync(screen, count, ctx.Token);
        string keysCpu = $"keys: {cpu.Read()}{(cliPid is { } p ? $"; the CLI {(Processes.CpuTime(p) - cliCpu).TotalSeconds:F2} s" : "")}";
        var after = server.Rss();

        // The server's CPU with the job attached and nothing typed: its cost at rest (after the
        // keys, so that no background compilation of the warm-up's hot code is in it).
        var idle = CpuMeter.Start(server);
        await Task.Delay(RestPeriod, ctx.Token);
        string cpuUsed = $"{keysCpu}\nat rest (attached, nothing typed for {RestPeriod.TotalSeconds:F0} s after the keys): {idle.Read()}; load average {LoadAverage()}";
        string? split = null;
        if (screen.Inbound.Count == times.Count)
        {
            // Both ends read this machine's clock: the split says whether the time goes in or out.
            var inbound = screen.Inbound.Order().ToList();
            var outbound = times.Zip(screen.Inbound, (total, inward) => total - inward).Order().ToList();
            split = $"typed to recorded by the job grain (OutputChunk.time): p50 {Units.Percentile(inbound, 0.5)}, p90 {Units.Percentile(inbound, 0.9)}, p99 {Units.Percentile(inbound, 0.99)}; "
                + $"recorded to the client: p50 {Units.Percentile(outbound, 0.5)}, p90 {Units.Percentile(outbound, 0.9)}, p99 {Units.Percentile(outbound, 0.99)}";
        }

        return (times, split, $"before the timed keys {Units.MB(before.TotalRssKiB * 1024.0)}, after {Units.MB(after.TotalRssKiB * 1024.0)} (VmRSS, sum of server processes)", cpuUsed);
    }

    /// <summary><paramref name="keys"/> keys a-z in turn, each timed from the write to its echo; Enter after every <see cref="LineLength"/> and at the end.</summary>
    private static async Task<List<TimeSpan>> TypeKeysAsync(Screen screen, int keys, CancellationToken cancellationToken)
    {
        screen.Inbound.Clear();
        var times = new List<TimeSpan>(keys);
        var line = new List<byte>(LineLength + 4);
        for (int i = 0; i < keys; i++)
        {
            byte key = (byte)('a' + (i % 26));
            times.Add(await screen.TimeKeyAsync(key, $"key {i + 1} ('{(char)key}')", cancellationToken));
            line.Add(key);
            if (line.Count == LineLength || i == keys - 1)
            {
                await screen.EnterAsync(line, cancellationToken);
                line.Clear();
            }

            await Task.Delay(KeyPause, cancellationToken);
        }

        return times;
    }

    /// <summary>
    /// Waits for the CLI's job to be listed (one the identity did not have before, on a terminal);
    /// null when the CLI exits first or it takes too long (reported).
    /// </summary>
    private static async Task<string?> FindJobAsync(ScenarioContext ctx, JobsClient client, HashSet<string> known, IChild cli)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < CliTimeout)
        {
            var jobs = (await client.ListAsync(new ListRequest(), cancellationToken: ctx.Token)).Jobs;
            if (jobs.FirstOrDefault(j => !known.Contains(j.JobId) && j.Terminal) is { } job)
            {
                Report.Progress($"cli: its job {job.JobId} is {job.State} after {Units.Seconds(clock.Elapsed)}");
                return job.JobId;
            }

            if (cli.Exited.IsCompleted)
            {
                ctx.Report.Failure($"cli: exited ({StatusOf(await cli.Exited)}) without starting a job; its terminal showed: {await ScreenTextAsync(cli)}");
                return null;
            }

            await Task.Delay(50, ctx.Token);
        }

        ctx.Report.Failure($"cli: no job on a terminal listed within {CliTimeout.TotalSeconds:F0} s");
        return null;
    }

    /// <summary>
    /// Types a probe key every 200 ms until a watching Attach (no stdin) sees the job's terminal echo
    /// one: the CLI is then attached and relays single keys (its terminal is raw). The watcher then
    /// detaches, so the timed keys have the CLI's attach alone.
    /// </summary>
    private static async Task<bool> ProbeAsync(ScenarioContext ctx, JobsClient client, string id, PtyKeyboard keyboard)
    {
        using var call = client.Attach(cancellationToken: ctx.Token);
        await call.RequestStream.WriteAsync(new AttachRequest { Start = new AttachStart { JobId = id, Stdin = false, Replay = true } }, ctx.Token);
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var detached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watching = Task.Run(async () =>
        {
            try
            {
                while (await call.ResponseStream.MoveNext(ctx.Token))
                {
                    var item = call.ResponseStream.Current;
                    if (item.ItemCase == AttachResponse.ItemOneofCase.Chunk && item.Chunk.Data.Span.Contains((byte)'x'))
                    {
                        seen.TrySetResult();
                    }
                    else if (item.ItemCase is AttachResponse.ItemOneofCase.Detached or AttachResponse.ItemOneofCase.End)
                    {
                        detached.TrySetResult();
                    }
                }
            }
            finally
            {
                detached.TrySetResult();
            }
        }, ctx.Token);

        var clock = Stopwatch.StartNew();
        int probes = 0;
        while (!seen.Task.IsCompleted && clock.Elapsed < CliTimeout && !watching.IsCompleted)
        {
            await keyboard.TypeAsync((byte)'x', ctx.Token);
            probes++;
            await Task.WhenAny(seen.Task, Task.Delay(200, ctx.Token));
        }

        bool live = seen.Task.IsCompleted;
        if (live)
        {
            Report.Progress($"cli: relaying keys after {Units.Seconds(clock.Elapsed)} ({probes} probe keys)");
        }
        else
        {
            ctx.Report.Failure(watching.IsFaulted
                ? $"cli: the bench's watching Attach failed: {watching.Exception!.InnerException!.Message}"
                : $"cli: none of {probes} probe keys typed over {Units.Seconds(clock.Elapsed)} reached the job");
        }

        await call.RequestStream.WriteAsync(new AttachRequest { Detach = new Detach() }, ctx.Token);
        await call.RequestStream.CompleteAsync();
        await detached.Task.WaitAsync(KeyTimeout, ctx.Token);
        return live;
    }

    private static (string? Program, string[] Prefix, string Kind) FindCli(BenchPaths paths)
    {
        if (File.Exists(paths.AotCli))
        {
            return (paths.AotCli, [], "Native AOT");
        }

        string dll = JitCli(paths);
        return File.Exists(dll) ? ("dotnet", [dll], "JIT (not published with AOT)") : (null, [], "");
    }

    private static string JitCli(BenchPaths paths) => Path.Combine(paths.Root, "Client", "bin", "Release", "net10.0", "jobs.dll");

    private static async Task KillAsync(JobsClient client, string id)
    {
        try
        {
            await client.KillAsync(new KillRequest { JobId = id }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: CancellationToken.None);
        }
        catch (RpcException e)
        {
            Report.Progress($"killing job {id}: {e.StatusCode} {e.Status.Detail}");
        }

    }

    private static void CheckGone(ScenarioContext ctx, string row, int pid)
    {
        if (pid > 0 && Processes.IsAliveRunning(pid, [Cat]))
        {
            ctx.Report.Failure($"{row}: the job's {Cat} (pid {pid}) is still running after its end");
        }
    }

    // The machine is shared: the figures mean little without how busy it was.
    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static string Left(int pid) => pid > 0 && Processes.IsAliveRunning(pid, [Cat]) ? $"; pid {pid} still running" : $"; pid {pid} gone (/proc)";

    private static string Describe(List<TimeSpan> sorted) =>
        $"p50 {Units.Percentile(sorted, 0.5)}, p90 {Units.Percentile(sorted, 0.9)}, p99 {Units.Percentile(sorted, 0.99)}, max {Units.Millis(sorted[^1])}";

    private static string Describe(AttachResponse? response) => response is null ? "the call ended" : response.ItemCase.ToString();

    private static string StatusOf(ChildExit exit) => exit.ExitCode is { } code ? $"exit code {code}" : $"signal {exit.SignalName}";

    private static async Task<string> ScreenTextAsync(IChild cli)
    {
        var text = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await foreach (var output in cli.Output.ReadAllAsync(timeout.Token))
            {
                text.Append(Encoding.UTF8.GetString(output.Data));
            }
        }
        catch (OperationCanceledException)
        {
            // what came so far
        }

        return Screen.Show(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>Where keys go in and the terminal's bytes come out.</summary>
    private interface IKeyboard
    {
        ValueTask TypeAsync(byte key, CancellationToken cancellationToken);

        /// <summary>The next bytes the terminal shows; throws <see cref="InvalidDataException"/> when the session ended or said something else.</summary>
        ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken);

        /// <summary>When the server recorded the output last read (OutputChunk.time: the job grain's clock, this machine's), where the keyboard sees it.</summary>
        DateTime? LastRecorded { get; }
    }

    /// <summary>The bytes that come back, checked against what must come, in order; bytes beyond what was expected wait for the next check.</summary>
    private sealed class Screen(IKeyboard keyboard, bool terminal)
    {
        private readonly List<byte> _pending = [];
        private readonly byte[][] _keys = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToArray();

        /// <summary>For each key timed, from its typing to when the server recorded its echo (<see cref="IKeyboard.LastRecorded"/>), where known.</summary>
        public List<TimeSpan> Inbound { get; } = [];

        /// <summary>Types <paramref name="key"/> and times it until its echo is shown; throws <see cref="InvalidDataException"/> on a wrong byte or after <see cref="KeyTimeout"/>.</summary>
        public async Task<TimeSpan> TimeKeyAsync(byte key, string what, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(KeyTimeout);
            try
            {
                long started = Stopwatch.GetTimestamp();
                var typedAt = DateTime.UtcNow;
                await keyboard.TypeAsync(key, timeout.Token);
                await ExpectAsync(_keys[key], timeout.Token);
                var elapsed = Stopwatch.GetElapsedTime(started);
                if (keyboard.LastRecorded is { } recorded)
                {
                    Inbound.Add(recorded - typedAt);
                }

                return elapsed;
            }
            catch (Exception e) when (IsTimeout(e, timeout, cancellationToken))
            {
                throw new InvalidDataException($"{what}: no echo within {KeyTimeout.TotalSeconds:F0} s; shown so far: {Show([.. _pending])}");
            }
        }

        /// <summary>
        /// Types Enter after <paramref name="line"/> was typed. A terminal shows its new line, then cat's
        /// copy of the line (ONLCR: "\n" shows as "\r\n"); a pipe has cat echo the Enter alone.
        /// </summary>
        public Task EnterAsync(List<byte> line, CancellationToken cancellationToken) =>
            TypeAndExpectAsync(Enter, terminal ? [.. "\r\n"u8, .. line, .. "\r\n"u8] : [Enter], cancellationToken);

        private async Task TypeAndExpectAsync(byte key, byte[] expected, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(KeyTimeout);
            try
            {
                await keyboard.TypeAsync(key, timeout.Token);
                await ExpectAsync(expected, timeout.Token);
            }
            catch (Exception e) when (IsTimeout(e, timeout, cancellationToken))
            {
                throw new InvalidDataException($"typed {Show([key])}, expected {Show(expected)} within {KeyTimeout.TotalSeconds:F0} s; shown: {Show([.. _pending])}");
            }
        }

        public static string Show(byte[] bytes) =>
            '"' + string.Concat(bytes.Select(b => b is >= 0x20 and < 0x7f && b != '"' && b != '\\' ? ((char)b).ToString() : b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                _ => $"\\x{b:x2}",
            })) + '"';

        private async Task ExpectAsync(byte[] expected, CancellationToken cancellationToken)
        {
            while (_pending.Count < expected.Length)
            {
                var data = await keyboard.ReadAsync(cancellationToken);
                _pending.AddRange(data.Span);
            }

            for (int i = 0; i < expected.Length; i++)
            {
                if (_pending[i] != expected[i])
                {
                    throw new InvalidDataException($"expected {Show(expected)}, the terminal showed {Show([.. _pending])}");
                }
            }

            _pending.RemoveRange(0, expected.Length);
        }

        private static bool IsTimeout(Exception e, CancellationTokenSource timeout, CancellationToken outer) =>
            timeout.IsCancellationRequested && !outer.IsCancellationRequested
            && (e is OperationCanceledException || (e is RpcException rpc && rpc.StatusCode == StatusCode.Cancelled));
    }

    /// <summary>An Attach call: keys as <c>input</c>, output as its chunks.</summary>
    private sealed class GrpcKeyboard(AsyncDuplexStreamingCall<AttachRequest, AttachResponse> call) : IKeyboard
    {
        private readonly AttachRequest[] _requests = Enumerable.Range(0, 256)
            .Select(b => new AttachRequest { Input = ByteString.CopyFrom((byte)b) }).ToArray();

        public DateTime? LastRecorded { get; private set; }

        public ValueTask TypeAsync(byte key, CancellationToken cancellationToken) =>
            new(call.RequestStream.WriteAsync(_requests[key], cancellationToken));

        public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken)
        {
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                var item = call.ResponseStream.Current;
                switch (item.ItemCase)
                {
                    case AttachResponse.ItemOneofCase.Chunk:
                        LastRecorded = item.Chunk.Time?.ToDateTime();
                        return item.Chunk.Data.Memory;
                    case AttachResponse.ItemOneofCase.End:
                        throw new InvalidDataException($"the job ended: {StatusText.Of(item.End)}");
                    case AttachResponse.ItemOneofCase.Dropped:
                    case AttachResponse.ItemOneofCase.InputMoved:
                    case AttachResponse.ItemOneofCase.Detached:
                    case AttachResponse.ItemOneofCase.Attached:
                        throw new InvalidDataException($"Attach sent {item.ItemCase} in the middle of the keys");
                }
            }

            throw new InvalidDataException("the Attach call ended");
        }

        /// <summary>Output until the job's end (not checked); null when the call ends without it.</summary>
        public async Task<JobStatus?> ReadToEndAsync(CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CliTimeout);
            while (await call.ResponseStream.MoveNext(timeout.Token))
            {
                if (call.ResponseStream.Current.ItemCase == AttachResponse.ItemOneofCase.End)
                {
                    return call.ResponseStream.Current.End;
                }
            }

            return null;
        }
    }

    /// <summary>The CLI's terminal: keys written to it as a person's keyboard would, its screen bytes read back.</summary>
    private sealed class PtyKeyboard(IChild cli, IChildInput input) : IKeyboard
    {
        private readonly byte[][] _keys = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToArray();

        // The CLI reads the chunks: their times do not reach this side.
        public DateTime? LastRecorded => null;

        public ValueTask TypeAsync(byte key, CancellationToken cancellationToken) =>
            input.TryWrite(_keys[key]) ? ValueTask.CompletedTask : throw new InvalidDataException($"the CLI's terminal took no key ({(input.IsClosed ? "closed" : "full")})");

        public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken)
        {
            while (await cli.Output.WaitToReadAsync(cancellationToken))
            {
                if (cli.Output.TryRead(out var output))
                {
                    return output.Data;
                }
            }

            var exit = await cli.Exited;
            throw new InvalidDataException($"the CLI ended ({StatusOf(exit)})");
        }

        /// <summary>Reads and drops the screen's bytes until none came for <paramref name="quiet"/>.</summary>
        public async Task SkipUntilQuietAsync(TimeSpan quiet, CancellationToken cancellationToken)
        {
            while (true)
            {
                using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                silence.CancelAfter(quiet);
                try
                {
                    await ReadAsync(silence.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return;
                }
            }
        }

        /// <summary>Reads and drops the screen's bytes until the CLI's terminal has no writer left.</summary>
        public async Task SkipToEndAsync(CancellationToken cancellationToken)
        {
            await foreach (var _ in cli.Output.ReadAllAsync(cancellationToken))
            {
                // The CLI's last screen bytes after Ctrl+D: not checked.
            }
        }
    }
}
