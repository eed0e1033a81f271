namespace Jobs.EndToEnd.Tests;

/// <summary>
/// A person's terminal for the CLI: a tmux window running a local <c>sh</c> (prompt <c>local$ </c>)
/// in the repository root, where <c>jobs-cli</c> runs the real CLI against one endpoint. The test
/// types commands into the shell as a person would, so that what the shell shows after the CLI
/// ends (its exit status, the terminal's settings) can be checked too. Disposing kills the tmux
/// server, the CLI with it, and deletes the wrapper's folder.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CliTerminal : IAsyncDisposable
{
    /// <summary>The local shell's prompt as the screen shows it (tmux trims the blank after it).</summary>
    public const string LocalPrompt = "local$";

    /// <summary>The prompt of a job's <c>sh</c> started with <see cref="JobShellOptions"/>.</summary>
    public const string JobPrompt = "job$";

    private readonly string _folder;
    private int _runs;

    private CliTerminal(Tmux tmux, string folder)
    {
        Tmux = tmux;
        _folder = folder;
    }

    public Tmux Tmux { get; }

    /// <summary><c>run</c> options that give a job's <c>sh</c> the prompt <c>job$ </c>, told apart from the local one.</summary>
    public string JobShellOptions => $"-e ENV={Path.Combine(_folder, "jobrc")}";

    public static async Task<CliTerminal> StartAsync(string endpoint, int columns = 80, int rows = 24)
    {
        string folder = Directory.CreateTempSubdirectory("jobs-cli-terminal-").FullName;
        string wrapper = Path.Combine(folder, "jobs-cli");
        await File.WriteAllTextAsync(wrapper, $"#!/bin/sh\nexec dotnet '{Repo.ClientDll}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // dash takes its prompt from the file ENV names, not from PS1 in its environment (as root).
        string profile = Path.Combine(folder, "shrc");
        await File.WriteAllTextAsync(profile, "PS1='local$ '\n");
        await File.WriteAllTextAsync(Path.Combine(folder, "jobrc"), "PS1='job$ '\n");

        // The job's shell reads jobrc as the job's own uid, not the tests' (root): the folder lets it in.
        File.SetUnixFileMode(folder, File.GetUnixFileMode(folder) | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(Path.Combine(folder, "jobrc"), File.GetUnixFileMode(Path.Combine(folder, "jobrc")) | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = folder + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["ENV"] = profile,
            ["JOBS_ENDPOINT"] = endpoint,
            // Hermetic, as Cli is: no configuration of the machine's user reaches the CLI.
            ["JOBS_CONFIG"] = Path.Combine(folder, "no-config.json"),
            ["DOTNET_NOLOGO"] = "1",
        };

        Tmux? tmux = null;
        try
        {
            tmux = await Tmux.StartAsync("sh", columns, rows, Repo.Root, environment);
            await tmux.WaitForScreenAsync(LocalPrompt, TimeSpan.FromSeconds(30));
            return new CliTerminal(tmux, folder);
        }
        catch
        {
            if (tmux is not null)
            {
                await tmux.DisposeAsync();
            }

            Directory.Delete(folder, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Types a command line for the local shell that runs the CLI and then prints its exit status
    /// as <c>exit-N=STATUS</c>, N counting the runs of this terminal.
    /// </summary>
    public Task RunCliAsync(string arguments)
    {
        _runs++;
        return Tmux.SendLineAsync($"jobs-cli {arguments}; echo \"exit-{_runs}=$?\"");
    }

    /// <summary>Waits for the CLI last started by <see cref="RunCliAsync"/> to end; its exit status as the shell saw it.</summary>
    public async Task<int> WaitForCliExitAsync(TimeSpan timeout)
    {
        // Digits only: the typed command line holds "exit-N=$?" too. Not only at a line's start: a
        // job's shell that is slow to print its last prompt (typed ahead of) leaves "job$ " before it.
        var pattern = new System.Text.RegularExpressions.Regex($@"exit-{_runs}=(\d+)");
        string screen = await Tmux.WaitForScreenAsync(pattern.IsMatch, timeout, $"the exit status of CLI run {_runs}");
        return int.Parse(pattern.Match(screen).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await Tmux.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
