using System.Diagnostics;
using System.Globalization;

namespace Jobs.TestSupport;

/// <summary>
/// One real server process (the one-command gateway with its silo, a gateway without one, a silo, or any
/// program such as <c>redis-server</c>), on free loopback ports, its log kept for failure messages (all of
/// it for tests; a bounded tail when started for a long bench). Disposing kills it with its process tree;
/// a folder it alone uses is deleted once it has exited. Every server still running when this process
/// exits is killed, so a test run or a bench that dies does not leave servers (and their jobs) behind.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private const string GatewayReadyLine = "Jobs gateway listening on";
    private const string SiloReadyLine = "Application started";
    private const int BenchTailLines = 200;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(30);
    private static readonly List<ServerProcess> s_running = [];
    private static readonly IReadOnlyDictionary<string, string?> s_noEnvironment = new Dictionary<string, string?>();
    private readonly Process _process;
    private readonly Queue<string> _log = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Launch _launch;
    private bool _deleted;

    static ServerProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    private ServerProcess(Launch launch)
    {
        _launch = launch;
        var start = new ProcessStartInfo(launch.Command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = launch.WorkingDirectory,
        };
        foreach (string part in launch.Command.Skip(1))
        {
            start.ArgumentList.Add(part);
        }

        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (name, value) in launch.Environment)
        {
            // A null value removes the variable the server would otherwise inherit from the tests.
            start.Environment[name] = value;
        }

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Exited += (_, _) =>
        {
            // Waiting again lets the redirected output drain, so the message shows why it exited.
            _process.WaitForExit();
            _ready.TrySetException(new InvalidOperationException($"{Name}: the server exited during start (code {_process.ExitCode}):\n{Log}"));
        };
        _process.EnableRaisingEvents = true;
        try
        {
            _process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            _process.Dispose();
            DeleteOwnedFolder();
            throw new InvalidOperationException($"cannot start {launch.Command[0]}: {e.Message}", e);
        }

        lock (s_running)
        {
            s_running.Add(this);
        }

        Pid = _process.Id;
        Port = launch.Port;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>What it is, for messages: Jobs.Gateway, Jobs.Silo, redis-server, or the name a bench gave it.</summary>
    public string Name => _launch.Name;

    /// <summary>Its process id, kept after it exited and was disposed (for messages and checks).</summary>
    public int Pid { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>The gRPC port of a gateway, the Orleans gateway port of a silo; 0 for a program started by <see cref="StartProgramAsync"/>.</summary>
    public int Port { get; }

    public string Endpoint => $"https://127.0.0.1:{Port}";

    /// <summary>The lines the process logged (the last ones only, for a process a bench started), one per line.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Concat(_log.Select(line => line + Environment.NewLine));
            }
        }
    }

    /// <summary>The lines the process logged, as <see cref="Log"/>, without the last line break.</summary>
    public string LogTail
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    /// <summary>Kills every server still running, with its process tree, and deletes the folders they owned; for a run that has to exit at once.</summary>
    public static void KillAll(Action<string>? progress = null)
    {
        ServerProcess[] running;
        lock (s_running)
        {
            running = [.. s_running];
        }

        foreach (var server in running)
        {
            try
            {
                progress?.Invoke($"killing {server.Name} pid {server.Pid} and its jobs");
                server._process.Kill(entireProcessTree: true);
                server._process.WaitForExit(KillWait);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // exited meanwhile
            }

            server.DeleteOwnedFolder();
        }
    }

    /// <summary>The one-command server: gateway and silo in one process.</summary>
    public static Task<ServerProcess> StartCombinedAsync(params string[] extraArgs) => StartGatewayAsync("Embedded", FreePorts.Next(), extraArgs);

    /// <summary>The one-command server with these variables set in its environment (null: removed).</summary>
    public static Task<ServerProcess> StartCombinedWithEnvironmentAsync(IReadOnlyDictionary<string, string?> environment, params string[] extraArgs) =>
        StartGatewayAsync("Embedded", FreePorts.Next(), extraArgs, environment: environment);

    /// <summary>The one-command server, started through <paramref name="wrapper"/> with these variables set in its environment (null: removed).</summary>
    public static Task<ServerProcess> StartCombinedUnderAsync(string[] wrapper, IReadOnlyDictionary<string, string?> environment, params string[] extraArgs) =>
        StartGatewayAsync("Embedded", FreePorts.Next(), extraArgs, wrapper, environment);

    /// <summary>The one-command server, started through <paramref name="wrapper"/> (such as <c>setpriv</c> with its options).</summary>
    public static Task<ServerProcess> StartCombinedUnderAsync(string[] wrapper, params string[] extraArgs) =>
        StartGatewayAsync("Embedded", FreePorts.Next(), extraArgs, wrapper);

    /// <summary>
    /// The server exactly as the README starts it (<c>dotnet run --project Gateway</c> from the repo
    /// root, default certificate paths), on free ports.
    /// </summary>
    public static Task<ServerProcess> StartAsReadmeSaysAsync()
    {
        int port = FreePorts.Next();
        string homes = NewHomes();
        string[] command = ["dotnet", "run", "--no-build", "-c", Repo.Configuration, "--project", "Gateway", "--",
            $"--Gateway:Listen=127.0.0.1:{port}", $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}", $"--Jobs:Accounts:Homes={homes}"];
        return StartAsync(new Launch("Jobs.Gateway", command, GatewayReadyLine, Repo.Root, s_noEnvironment, homes, null, port), CancellationToken.None);
    }

    /// <summary>A gateway that connects to a silo in another process.</summary>
    public static Task<ServerProcess> StartRemoteGatewayAsync(int siloGatewayPort, params string[] extraArgs) => StartGatewayAsync("Remote", siloGatewayPort, extraArgs);

    /// <summary>A silo on its own.</summary>
    public static Task<ServerProcess> StartSiloAsync(int siloPort, int gatewayPort, params string[] extraArgs) =>
        StartSiloWithEnvironmentAsync(siloPort, gatewayPort, s_noEnvironment, extraArgs);

    /// <summary>A silo on its own, with these variables set in its environment (null: removed).</summary>
    public static Task<ServerProcess> StartSiloWithEnvironmentAsync(int siloPort, int gatewayPort, IReadOnlyDictionary<string, string?> environment, params string[] extraArgs)
    {
        // The checkout's cluster key is mode 0644 in a clone, as the Silo's Development profile allows it.
        string? homes = OwnHomes(extraArgs);
        string[] command = ["dotnet", Repo.SiloDll, $"--Orleans:SiloPort={siloPort}", $"--Orleans:GatewayPort={gatewayPort}", "--Orleans:Tls:AllowReadableKey=true", .. HomesArgs(homes), .. extraArgs];
        return StartAsync(new Launch("Jobs.Silo", command, SiloReadyLine, Repo.Root, environment, homes, null, gatewayPort), CancellationToken.None);
    }

    /// <summary>
    /// <c>dotnet DLL ARGS</c> as a bench starts it, with arguments of its own choosing, ready once it logs
    /// <paramref name="readyLine"/>; only the last lines of its log are kept.
    /// </summary>
    /// <exception cref="InvalidOperationException">It did not start, or exited, or did not log the line within a minute.</exception>
    public static Task<ServerProcess> StartAsync(string name, string dll, string readyLine, IEnumerable<string> args, string workingDirectory, CancellationToken cancellationToken) =>
        StartAsync(new Launch(name, ["dotnet", dll, .. args], readyLine, workingDirectory, s_noEnvironment, null, BenchTailLines, 0), cancellationToken);

    /// <summary>
    /// <paramref name="program"/> (looked up in PATH) with <paramref name="args"/>, ready once it logs <paramref name="readyLine"/>;
    /// <paramref name="ownedFolder"/>, if given, is deleted once it has exited. Only the last lines of its log are kept.
    /// </summary>
    /// <exception cref="InvalidOperationException">It did not start, or exited, or did not log the line within a minute.</exception>
    public static Task<ServerProcess> StartProgramAsync(string name, string program, IEnumerable<string> args, string readyLine, string workingDirectory, string? ownedFolder, CancellationToken cancellationToken) =>
        StartAsync(new Launch(name, [program, .. args], readyLine, workingDirectory, s_noEnvironment, ownedFolder, BenchTailLines, 0), cancellationToken);

    /// <summary>The rest of the last log line still held that contains <paramref name="fragment"/>, after it; null when none does.</summary>
    public string? LoggedAfter(string fragment)
    {
        lock (_log)
        {
            string? line = _log.LastOrDefault(l => l.Contains(fragment, StringComparison.Ordinal));
            return line?[(line.IndexOf(fragment, StringComparison.Ordinal) + fragment.Length)..];
        }
    }

    /// <summary>Asks the server to stop as an operator would (SIGTERM) and waits for it to exit; throws OperationCanceledException if it has not after <paramref name="timeout"/>.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        Signals.Terminate(_process.Id);
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
    }

    /// <summary>SIGTERM, then SIGKILL to its process tree after <paramref name="grace"/>. Says what happened, in a line for a report.</summary>
    public async Task<string> StopOrKillAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return $"{Name} had already exited (code {_process.ExitCode})";
        }

        var clock = Stopwatch.StartNew();
        try
        {
            await StopAsync(grace);
            return $"{Name} stopped on SIGTERM in {clock.Elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture)} s (code {_process.ExitCode})";
        }
        catch (OperationCanceledException)
        {
            await DisposeAsync();
            return $"{Name} did not stop within {grace.TotalSeconds:F0} s of SIGTERM: killed";
        }
    }

    /// <summary>Waits until the process exits by itself; false if it still runs after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Starts the same program with the same arguments (ports included) again, as an operator
    /// restarts a server; this one must have exited.
    /// </summary>
    public Task<ServerProcess> StartAgainAsync()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException($"process {Pid} still runs");
        }

        return StartAsync(_launch, CancellationToken.None);
    }

    /// <summary>SIGKILL to the process alone, as a crash or an OOM kill would end it: no shutdown code runs, and its children are left to the server's own safeguards.</summary>
    public async Task KillHardAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }

            using var wait = new CancellationTokenSource(KillWait);
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                // Left to the caller's leftover checks; a process that survives SIGKILL this long is the kernel's.
            }
        }

        lock (s_running)
        {
            s_running.Remove(this);
        }

        if (_process.HasExited)
        {
            DeleteOwnedFolder();
            _process.Dispose();
        }
    }

    private static Task<ServerProcess> StartGatewayAsync(string silo, int siloGatewayPort, string[] extraArgs, string[]? wrapper = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        int port = FreePorts.Next();
        var command = new List<string>(wrapper ?? [])
        {
            "dotnet",
            Repo.GatewayDll,
            $"--Gateway:Listen=127.0.0.1:{port}",
            $"--Gateway:Silo={silo}",
            $"--Gateway:Certificate={Path.Combine(Repo.Certs, "server.pem")}",
            $"--Gateway:Key={Path.Combine(Repo.Certs, "server.key")}",
            $"--Gateway:ClientCa={Path.Combine(Repo.Certs, "client_ca.pem")}",
            $"--Orleans:GatewayPort={siloGatewayPort}",
            // The checkout's development key (mode 0644 in a clone), as the README's Development profile allows it.
            "--Gateway:AllowReadableKey=true",
            "--Orleans:Tls:AllowReadableKey=true",
            "--Gateway:Admins:0=admin",
        };
        string? homes = null;
        if (silo == "Embedded")
        {
            command.Add($"--Orleans:SiloPort={FreePorts.Next()}");
            homes = OwnHomes(extraArgs);
            command.AddRange(HomesArgs(homes));
        }

        command.AddRange(extraArgs);
        return StartAsync(new Launch("Jobs.Gateway", [.. command], GatewayReadyLine, Repo.Root, environment ?? s_noEnvironment, homes, null, port), CancellationToken.None);
    }

    // The homes of a server's jobs (Jobs:Accounts:Homes), deleted with the server, unless the test names its own.
    private static string? OwnHomes(string[] extraArgs) =>
        extraArgs.Any(a => a.StartsWith("--Jobs:Accounts:Homes=", StringComparison.OrdinalIgnoreCase)) ? null : NewHomes();

    private static string NewHomes() => Path.Combine(Path.GetTempPath(), $"jobs-test-homes-{Guid.NewGuid():N}");

    private static string[] HomesArgs(string? homes) => homes is null ? [] : [$"--Jobs:Accounts:Homes={homes}"];

    private static async Task<ServerProcess> StartAsync(Launch launch, CancellationToken cancellationToken)
    {
        var server = new ServerProcess(launch);
        try
        {
            await server._ready.Task.WaitAsync(StartTimeout, cancellationToken);
            return server;
        }
        catch (TimeoutException)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"{launch.Name} did not log '{launch.ReadyLine}' within {StartTimeout.TotalSeconds:F0} s\n{server.Log}");
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private void DeleteOwnedFolder()
    {
        if (_launch.OwnedFolder is null || _deleted)
        {
            return;
        }

        try
        {
            Directory.Delete(_launch.OwnedFolder, recursive: true);
            _deleted = true;
        }
        catch (DirectoryNotFoundException)
        {
            _deleted = true;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"could not delete {_launch.OwnedFolder}: {e.Message}");
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Enqueue(line);
            if (_launch.KeepLines is { } keep && _log.Count > keep)
            {
                _log.Dequeue();
            }
        }

        if (line.Contains(_launch.ReadyLine, StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }

    /// <summary>How it was started, to start it again the same way.</summary>
    private sealed record Launch(
        string Name,
        string[] Command,
        string ReadyLine,
        string WorkingDirectory,
        IReadOnlyDictionary<string, string?> Environment,
        string? OwnedFolder,
        int? KeepLines,
        int Port);
}
