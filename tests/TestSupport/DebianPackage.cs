using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Jobs.TestSupport;

/// <summary>
/// Puts a program the tests drive (<c>redis-server</c>, <c>tmux</c>) on a machine that lacks it, from
/// its Debian package, so that <c>dotnet test</c> alone passes on a fresh machine: once per program
/// and test process, and once per machine while several test processes ask at the same time (an
/// exclusive lock file, so that one installs and the others find it installed).
/// </summary>
public static class DebianPackage
{
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(12);
    private static readonly string LockFile = Path.Combine(Path.GetTempPath(), "jobs-tests-apt.lock");
    private static readonly ConcurrentDictionary<string, Lazy<Task<string?>>> s_ensured = new();

    /// <summary>
    /// Makes sure <paramref name="program"/> is on PATH, installing <paramref name="package"/> with
    /// apt-get when it is not (as root, or through <c>sudo -n</c>). Every caller in this process
    /// shares one attempt.
    /// </summary>
    /// <param name="program">The command that must be on PATH.</param>
    /// <param name="package">The Debian package that brings it.</param>
    /// <param name="neededBy">Who needs it, for messages: "the cluster tests".</param>
    /// <returns>A line saying what was installed, or null when the program was already there.</returns>
    /// <exception cref="MissingProgramException">It is not there and could not be installed.</exception>
    public static Task<string?> EnsureInstalledAsync(string program, string package, string neededBy) =>
        s_ensured.GetOrAdd(program, _ => new Lazy<Task<string?>>(() => InstallAsync(
            program, package, neededBy, Environment.GetEnvironmentVariable("PATH") ?? string.Empty, Machine.IsRoot))).Value;

    /// <summary>
    /// One attempt of <see cref="EnsureInstalledAsync"/>, with the PATH to search (for the program,
    /// apt-get and sudo) and whether this process is root given.
    /// </summary>
    public static async Task<string?> InstallAsync(string program, string package, string neededBy, string searchPath, bool isRoot)
    {
        if (Find(program, searchPath) is not null)
        {
            return null;
        }

        string advice = $"{neededBy} need {program}: install the Debian package {package} (apt-get install {package})";
        string apt = Find("apt-get", searchPath)
            ?? throw new MissingProgramException($"{program} is not on PATH and this machine has no apt-get to install it; {advice}");
        string[] asRoot = [apt];
        if (!isRoot)
        {
            string sudo = Find("sudo", searchPath)
                ?? throw new MissingProgramException($"{program} is not on PATH and the tests, not being root, cannot install it (no sudo); {advice}");
            if ((await RunAsync([sudo, "-n", "true"], searchPath)).Code != 0)
            {
                throw new MissingProgramException($"{program} is not on PATH and the tests, not being root, cannot install it (sudo asks for a password); {advice}");
            }

            asRoot = [sudo, "-n", apt];
        }

        using var machineWide = await LockAsync();
        if (Find(program, searchPath) is not null)
        {
            // Another test process installed it while this one waited.
            return null;
        }

        var clock = Stopwatch.StartNew();

        // Another apt-get of the machine's own may hold dpkg's lock: wait for it rather than fail.
        string[] install = [.. asRoot, "-o", "DPkg::Lock::Timeout=120", "install", "-y", "-qq", "--no-install-recommends", package];
        var outcome = await RunAsync(install, searchPath);
        if (outcome.Code != 0)
        {
            // A fresh machine's package lists may be empty or old: update them only when the install fails.
            await RunAsync([.. asRoot, "-o", "DPkg::Lock::Timeout=120", "update", "-qq"], searchPath);
            outcome = await RunAsync(install, searchPath);
        }

        if (outcome.Code != 0 || Find(program, searchPath) is null)
        {
            string said = outcome.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";
            throw new MissingProgramException(outcome.Code != 0
                ? $"{program} is not on PATH and apt-get install {package} failed (exit {outcome.Code}: {said}); {advice}"
                : $"{program} is still not on PATH after apt-get install {package}; {advice}");
        }

        return string.Create(CultureInfo.InvariantCulture, $"installed {program} (Debian package {package}) for {neededBy}, in {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>The full path of <paramref name="program"/> in the first folder of <paramref name="searchPath"/> that has it, or null.</summary>
    public static string? Find(string program, string searchPath) =>
        searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, program))
            .FirstOrDefault(File.Exists);

    // .NET takes an advisory lock (flock) for FileShare.None on Unix: a second process's open fails until the first closes.
    private static async Task<FileStream> LockAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(LockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (clock.Elapsed < LockTimeout)
            {
                await Task.Delay(250);
            }
        }
    }

    private static async Task<(int Code, string Error)> RunAsync(string[] argv, string searchPath)
    {
        var result = await ProgramRunner.RunAsync(argv, new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive", ["PATH"] = searchPath }, AptTimeout);
        return result.TimedOut
            ? (-1, $"{string.Join(' ', argv)} did not finish within {AptTimeout.TotalMinutes:F0} minutes")
            : (result.ExitCode, result.Stderr);
    }
}
