using System.Diagnostics;
using System.Globalization;

namespace Jobs.TestSupport;

/// <summary>
/// A real terminal for a test, as a person has one: a tmux server of the test's own (its own
/// socket, <c>tmux -L</c>), with one window of a fixed size running a command. Keys go in with
/// <c>send-keys</c>, the screen comes out with <c>capture-pane</c>. The pane stays after its
/// command ends (<c>remain-on-exit</c>) so that its exit status can be read. Disposing kills the
/// server, and with it everything that ran in the window.
/// </summary>
public sealed class Tmux : IAsyncDisposable
{
    private const string Target = "test";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly string _socket;
    private readonly string _configFile;
    private bool _disposed;

    private Tmux(string socket, string configFile)
    {
        _socket = socket;
        _configFile = configFile;
    }

    /// <summary>
    /// Starts a tmux server with a window of <paramref name="columns"/> x <paramref name="rows"/>
    /// running <paramref name="command"/> (a shell command line) in <paramref name="workingDirectory"/>,
    /// with <paramref name="environment"/> added to this process's environment. Installs tmux first
    /// if the machine lacks it.
    /// </summary>
    public static async Task<Tmux> StartAsync(string command, int columns, int rows, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        await EnsureInstalledAsync();
        string socket = "jobs-test-" + Guid.NewGuid().ToString("N")[..16];
        string config = Path.Combine(Path.GetTempPath(), socket + ".conf");

        // Set before the command starts, so that even a command that ends at once leaves its pane;
        // no status line, so that the pane is the whole window.
        await File.WriteAllTextAsync(config, "set -g remain-on-exit on\nset -g status off\nset -g history-limit 5000\n");
        var tmux = new Tmux(socket, config);
        try
        {
            await tmux.RunAsync(
                environment,
                "new-session", "-d", "-s", Target, "-x", columns.ToString(CultureInfo.InvariantCulture), "-y", rows.ToString(CultureInfo.InvariantCulture),
                "-c", workingDirectory, command);
        }
        catch
        {
            await tmux.DisposeAsync();
            throw;
        }

        return tmux;
    }

    /// <summary>Types <paramref name="text"/> as it is (no key names).</summary>
    public Task SendTextAsync(string text) => RunAsync(null, "send-keys", "-t", Target, "-l", text);

    /// <summary>Presses keys by tmux's names: <c>Enter</c>, <c>C-c</c>, <c>C-p</c>, <c>Escape</c>...</summary>
    public Task SendKeysAsync(params string[] keys) => RunAsync(null, ["send-keys", "-t", Target, .. keys]);

    /// <summary>Types a line and presses Enter.</summary>
    public async Task SendLineAsync(string line)
    {
        await SendTextAsync(line);
        await SendKeysAsync("Enter");
    }

    /// <summary>The screen as text, one line per row, trailing blanks trimmed; with <paramref name="escapes"/>, colours and attributes as escape sequences.</summary>
    public Task<string> CapturePaneAsync(bool escapes = false) =>
        RunAsync(null, escapes ? ["capture-pane", "-p", "-e", "-t", Target] : ["capture-pane", "-p", "-t", Target]);

    /// <summary>Waits until the screen holds <paramref name="text"/>; the screen then.</summary>
    public Task<string> WaitForScreenAsync(string text, TimeSpan timeout, bool escapes = false) =>
        WaitForScreenAsync(screen => screen.Contains(text, StringComparison.Ordinal), timeout, $"'{text}'", escapes);

    /// <summary>Waits until <paramref name="done"/> holds for the screen; the screen then.</summary>
    /// <exception cref="TimeoutException">With the last screen, when it did not within <paramref name="timeout"/>.</exception>
    public async Task<string> WaitForScreenAsync(Func<string, bool> done, TimeSpan timeout, string? what = null, bool escapes = false)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string screen = await CapturePaneAsync(escapes);
            if (done(screen))
            {
                return screen;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the terminal did not show {what ?? "what was awaited"} within {timeout}; it shows:\n{screen}");
            }

            await Task.Delay(PollInterval);
        }
    }

    /// <summary>Resizes the window (the program in it gets SIGWINCH).</summary>
    public Task ResizeAsync(int columns, int rows) =>
        RunAsync(null, "resize-window", "-t", Target, "-x", columns.ToString(CultureInfo.InvariantCulture), "-y", rows.ToString(CultureInfo.InvariantCulture));

    /// <summary>The process id of the window's command.</summary>
    public async Task<int> PanePidAsync() =>
        int.Parse((await RunAsync(null, "display-message", "-p", "-t", Target, "#{pane_pid}")).Trim(), CultureInfo.InvariantCulture);

    /// <summary>The exit status of the window's command once it has ended; null while it runs.</summary>
    public async Task<int?> ExitStatusAsync()
    {
        string[] fields = (await RunAsync(null, "display-message", "-p", "-t", Target, "#{pane_dead} #{pane_dead_status}")).Trim().Split(' ');
        return fields[0] == "1" && fields.Length > 1 && int.TryParse(fields[1], CultureInfo.InvariantCulture, out int status) ? status : null;
    }

    /// <summary>Waits for the window's command to end; its exit status.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await ExitStatusAsync() is { } status)
            {
                return status;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the terminal's command did not end within {timeout}; it shows:\n{await CapturePaneAsync()}");
            }

            await Task.Delay(PollInterval);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        string? socketPath = null;
        try
        {
            socketPath = (await RunAsync(null, "display-message", "-p", "#{socket_path}")).Trim();
            await RunAsync(null, "kill-server");
        }
        catch (InvalidOperationException)
        {
            // No server left to kill (it never started, or its last window is gone).
        }

        File.Delete(_configFile);
        if (socketPath is { Length: > 0 })
        {
            // kill-server leaves the socket file behind.
            File.Delete(socketPath);
        }
    }

    /// <summary>Installs tmux (the Debian package) when it is not on PATH; see <see cref="DebianPackage"/>.</summary>
    /// <returns>A line saying it was installed, or null when it was there.</returns>
    public static Task<string?> EnsureInstalledAsync() => DebianPackage.EnsureInstalledAsync("tmux", "tmux", "the terminal tests");

    private async Task<string> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var result = await ProgramRunner.RunAsync(["tmux", "-L", _socket, "-f", _configFile, .. args], environment, CommandTimeout);
        if (result.TimedOut)
        {
            throw new TimeoutException($"tmux {string.Join(' ', args)} did not finish in {CommandTimeout}");
        }

        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed (exit {result.ExitCode}): {result.Stderr}");
        }

        return result.Stdout;
    }
}
