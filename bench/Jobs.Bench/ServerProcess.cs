using System.Diagnostics;
using System.Globalization;

namespace Jobs.Bench;

/// <summary>
/// One real server process (<c>dotnet Jobs.Gateway.dll</c>, <c>dotnet Jobs.Silo.dll</c> or <c>redis-server</c>), its
/// log kept as a bounded tail for error messages. Stopped with SIGTERM, killed if it does not stop. A folder it
/// alone uses (redis-server's <c>--dir</c>) is deleted once it has exited, however the bench ends.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private const int TailLines = 200;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly List<ServerProcess> s_running = [];
    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _readyLine;
    private readonly string? _ownedFolder;

    static ServerProcess()
    {
        // Last resort: a bench that dies does not leave servers (and their jobs) behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    /// <summary>Kills every server still running, with its jobs, and deletes the folders they owned; for a bench that has to exit at once.</summary>
    public static void KillAll()
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
                Report.Progress($"killing server pid {server.Pid} and its jobs");
                server._process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // exited meanwhile
            }

            server.DeleteOwnedFolder();
        }
    }

    private ServerProcess(string name, string program, IEnumerable<string> args, string readyLine, string workingDirectory, string? ownedFolder)
    {
        Name = name;
        _readyLine = readyLine;
        _ownedFolder = ownedFolder;
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Logging__Console__FormatterName"] = "simple";
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Exited += (_, _) => _ready.TrySetException(new ServerStartException($"{Name} exited during start"));
        _process.EnableRaisingEvents = true;
        try
        {
            _process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            _process.Dispose();
            DeleteOwnedFolder();
            throw new ServerStartException($"cannot start {program}: {e.Message}");
        }

        lock (s_running)
        {
            s_running.Add(this);
        }

        Pid = _process.Id;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Pid { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process logged.</summary>
    public string LogTail
    {
        get
        {
            lock (_tail)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    /// <summary><c>dotnet DLL ARGS</c>, ready once it logs <paramref name="readyLine"/>.</summary>
    public static Task<ServerProcess> StartAsync(string name, string dll, string readyLine, IEnumerable<string> args, string workingDirectory, CancellationToken cancellationToken) =>
        StartProgramAsync(name, "dotnet", [dll, .. args], readyLine, workingDirectory, null, cancellationToken);

    /// <summary>
    /// <paramref name="program"/> (looked up in PATH) with <paramref name="args"/>, ready once it logs <paramref name="readyLine"/>;
    /// <paramref name="ownedFolder"/>, if given, is deleted once it has exited.
    /// </summary>
    /// <summary>The rest of the last log line still held that contains <paramref name="fragment"/>, after it; null when none does.</summary>
    public string? LoggedAfter(string fragment)
    {
        lock (_tail)
        {
            string? line = _tail.LastOrDefault(l => l.Contains(fragment, StringComparison.Ordinal));
            return line?[(line.IndexOf(fragment, StringComparison.Ordinal) + fragment.Length)..];
        }
    }

    public static async Task<ServerProcess> StartProgramAsync(string name, string program, IEnumerable<string> args, string readyLine, string workingDirectory, string? ownedFolder, CancellationToken cancellationToken)
    {
        var server = new ServerProcess(name, program, args, readyLine, workingDirectory, ownedFolder);
        try
        {
            await server._ready.Task.WaitAsync(StartTimeout, cancellationToken);
            return server;
        }
        catch (TimeoutException)
        {
            await server.DisposeAsync();
            throw new ServerStartException($"{name} did not log '{readyLine}' within {StartTimeout.TotalSeconds:F0} s\n{server.LogTail}");
        }
        catch (ServerStartException e)
        {
            await server.DisposeAsync();
            throw new ServerStartException($"{e.Message}\n{server.LogTail}");
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGTERM (with the system's kill command, as an operator would), then SIGKILL after <paramref name="grace"/>. Says what happened.</summary>
    public async Task<string> StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return $"{Name} had already exited (code {_process.ExitCode})";
        }

        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            if (kill is not null)
            {
                await kill.WaitForExitAsync();
            }
        }

        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return $"{Name} stopped on SIGTERM in {Units.Seconds(clock.Elapsed)} (code {_process.ExitCode})";
        }
        catch (OperationCanceledException)
        {
            await DisposeAsync();
            return $"{Name} did not stop within {grace.TotalSeconds:F0} s of SIGTERM: killed";
        }
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

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                // reported by the caller's leftover checks; nothing more to do here
            }
        }

        lock (s_running)
        {
            s_running.Remove(this);
        }

        if (_process.HasExited)
        {
            DeleteOwnedFolder();
        }
    }

    private void DeleteOwnedFolder()
    {
        if (_ownedFolder is null)
        {
            return;
        }

        try
        {
            Directory.Delete(_ownedFolder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // deleted already
        }
        catch (IOException e)
        {
            Report.Progress($"could not delete {_ownedFolder}: {e.Message}");
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }

        if (line.Contains(_readyLine, StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }
}

/// <summary>The server could not be started: the bench cannot run (exit code 2).</summary>
internal sealed class ServerStartException(string message) : Exception(message);
