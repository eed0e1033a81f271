using System.Diagnostics;
using System.Text;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// A real server process (the one-command gateway with its silo, a gateway without one, or a silo),
/// on free loopback ports, with its log kept for failure messages. Disposing kills it.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _readyLine;
    private readonly Func<ServerProcess> _again;

    private ServerProcess(IEnumerable<string> command, string readyLine, IEnumerable<string> args, string[]? wrapper = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        _readyLine = readyLine;
        string[]? given = wrapper;
        _again = () => new ServerProcess(command, readyLine, args, given, environment) { Port = Port };
        wrapper = [.. wrapper ?? [], "dotnet"];
        var start = new ProcessStartInfo(wrapper[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repo.Root };
        foreach (string part in wrapper[1..].Concat(command))
        {
            start.ArgumentList.Add(part);
        }

        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
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
            _ready.TrySetException(new InvalidOperationException($"the server exited during start (code {_process.ExitCode}):\n" + Log));
        };
        _process.EnableRaisingEvents = true;
        _process.Start();
        Pid = _process.Id;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Its process id, kept after it exited and was disposed (for messages and checks).</summary>
    public int Pid { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    public int Port { get; private init; }

    public string Endpoint => $"https://127.0.0.1:{Port}";

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
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
    public static async Task<ServerProcess> StartAsReadmeSaysAsync()
    {
        int port = FreePorts.Next();
        string[] command = ["run", "--no-build", "-c", Repo.Configuration, "--project", "Gateway", "--"];
        var server = new ServerProcess(command, "Jobs gateway listening on", [$"--Gateway:Listen=127.0.0.1:{port}", $"--Orleans:SiloPort={FreePorts.Next()}", $"--Orleans:GatewayPort={FreePorts.Next()}"]) { Port = port };
        await server.WaitReadyAsync();
        return server;
    }

    /// <summary>A gateway that connects to a silo in another process.</summary>
    public static Task<ServerProcess> StartRemoteGatewayAsync(int siloGatewayPort, params string[] extraArgs) => StartGatewayAsync("Remote", siloGatewayPort, extraArgs);

    /// <summary>A silo on its own.</summary>
    public static Task<ServerProcess> StartSiloAsync(int siloPort, int gatewayPort, params string[] extraArgs) =>
        StartSiloWithEnvironmentAsync(siloPort, gatewayPort, new Dictionary<string, string?>(), extraArgs);

    /// <summary>A silo on its own, with these variables set in its environment (null: removed).</summary>
    public static async Task<ServerProcess> StartSiloWithEnvironmentAsync(int siloPort, int gatewayPort, IReadOnlyDictionary<string, string?> environment, params string[] extraArgs)
    {
        // The checkout's cluster key is mode 0644 in a clone, as the Silo's Development profile allows it.
        var silo = new ServerProcess(
            [Repo.SiloDll],
            "Application started",
            [$"--Orleans:SiloPort={siloPort}", $"--Orleans:GatewayPort={gatewayPort}", "--Orleans:Tls:AllowReadableKey=true", .. extraArgs],
            environment: environment) { Port = gatewayPort };
        await silo.WaitReadyAsync();
        return silo;
    }

    /// <summary>Asks the server to stop as an operator would (SIGTERM) and waits for it to exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        Signals.Terminate(_process.Id);
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
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
    public async Task<ServerProcess> StartAgainAsync()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException($"process {Pid} still runs");
        }

        var again = _again();
        await again.WaitReadyAsync();
        return again;
    }

    /// <summary>Kills the server process alone with SIGKILL: no shutdown code of its own runs.</summary>
    public async Task KillHardAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static async Task<ServerProcess> StartGatewayAsync(string silo, int siloGatewayPort, string[] extraArgs, string[]? wrapper = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        int port = FreePorts.Next();
        var args = new List<string>
        {
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
        if (silo == "Embedded")
        {
            args.Add($"--Orleans:SiloPort={FreePorts.Next()}");
        }

        args.AddRange(extraArgs);

        var server = new ServerProcess([Repo.GatewayDll], "Jobs gateway listening on", args, wrapper, environment) { Port = port };
        await server.WaitReadyAsync();
        return server;
    }

    private async Task WaitReadyAsync()
    {
        try
        {
            await _ready.Task.WaitAsync(StartTimeout);
        }
        catch
        {
            await DisposeAsync();
            throw;
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
            _log.AppendLine(line);
        }

        if (line.Contains(_readyLine, StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }
}
