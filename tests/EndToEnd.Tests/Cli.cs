using System.Diagnostics;

namespace Jobs.EndToEnd.Tests;

/// <summary>Runs the real <c>jobs</c> CLI from the repository root, so its default certificate paths apply.</summary>
public static class Cli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static Task<CliResult> RunAsync(string endpoint, params string[] args) => RunCoreAsync(endpoint, null, new Dictionary<string, string>(), args);

    /// <summary>Runs the CLI and sends it SIGTERM after <paramref name="terminateAfter"/>, as an operator's Ctrl+C would stop it.</summary>
    public static Task<CliResult> RunAsync(string endpoint, TimeSpan? terminateAfter, params string[] args) =>
        RunCoreAsync(endpoint, terminateAfter is { } after ? () => Task.Delay(after) : null, new Dictionary<string, string>(), args);

    /// <summary>Runs the CLI and sends it SIGTERM once <paramref name="terminateWhen"/> has completed (say, once a fake server saw a call).</summary>
    public static Task<CliResult> RunAsync(string endpoint, Task terminateWhen, params string[] args) =>
        RunCoreAsync(endpoint, () => terminateWhen, new Dictionary<string, string>(), args);

    /// <summary>Runs the CLI with a time limit other than the usual one, for a follower that outlasts it.</summary>
    public static Task<CliResult> RunWithTimeoutAsync(string endpoint, TimeSpan timeout, params string[] args) =>
        RunCoreAsync(endpoint, null, new Dictionary<string, string>(), args, timeout);

    /// <summary>
    /// Runs the CLI, with a time limit; <c>Seen</c> completes once its stdout holds <paramref name="text"/>
    /// (a follower that printed a job's first line is attached), and fails if the CLI ends without it.
    /// </summary>
    public static (Task<CliResult> Result, Task Seen) RunWatchingAsync(string endpoint, TimeSpan timeout, string text, params string[] args)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (RunCoreAsync(endpoint, null, new Dictionary<string, string>(), args, timeout, (System.Text.Encoding.UTF8.GetBytes(text), seen)), seen.Task);
    }

    /// <summary>
    /// Runs the CLI with <paramref name="stdin"/> as its stdin (a pipe, written while the CLI runs,
    /// then closed: the CLI sees end of file after the last byte).
    /// </summary>
    public static Task<CliResult> RunWithStdinAsync(string endpoint, byte[] stdin, params string[] args) =>
        RunCoreAsync(endpoint, null, new Dictionary<string, string>(), args, stdin: stdin);

    /// <summary>Runs the CLI against <paramref name="endpoint"/> with these extra environment variables.</summary>
    public static Task<CliResult> RunWithEnvironmentAsync(string endpoint, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunCoreAsync(endpoint, null, environment, args);

    /// <summary>Runs the CLI with no --endpoint flag and these environment variables (JOBS_*), as a configured user would.</summary>
    public static Task<CliResult> RunConfiguredAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunCoreAsync(null, null, environment, args);

    private static async Task<CliResult> RunCoreAsync(string? endpoint, Func<Task>? terminateWhen, IReadOnlyDictionary<string, string> environment, string[] args, TimeSpan? timeout = null, (byte[] Text, TaskCompletionSource Seen)? watch = null, byte[]? stdin = null)
    {
        var limit = timeout ?? Timeout;
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Repo.Root,
        };
        // Hermetic: no configuration of the machine's user reaches the CLI unless a test gives it.
        foreach (string name in new[] { "JOBS_ENDPOINT", "JOBS_CERT", "JOBS_KEY", "JOBS_SERVER_CA", "JOBS_DOMAIN" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["JOBS_CONFIG"] = Path.Combine(Path.GetTempPath(), "jobs-tests-no-config.json");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(Repo.ClientDll);
        if (endpoint is not null)
        {
            start.ArgumentList.Add("--endpoint");
            start.ArgumentList.Add(endpoint);
        }

        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var writeIn = WriteAndCloseAsync(process.StandardInput.BaseStream, stdin ?? []);
        var stdout = new MemoryStream();
        var copyOut = CopyWatchingAsync(process.StandardOutput.BaseStream, stdout, watch);
        var readErr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(limit);
        try
        {
            if (terminateWhen is not null)
            {
                await terminateWhen().WaitAsync(cancel.Token);
                Jobs.TestSupport.Signals.Terminate(process.Id);
            }

            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"jobs {string.Join(' ', args)} did not finish in {limit}");
        }

        await copyOut;
        await writeIn;
        var result = new CliResult(process.ExitCode, stdout.ToArray(), await readErr);
        watch?.Seen.TrySetException(new InvalidOperationException($"jobs {string.Join(' ', args)} ended without printing what was awaited: {result}"));
        return result;
    }

    private static async Task WriteAndCloseAsync(Stream to, byte[] data)
    {
        try
        {
            await to.WriteAsync(data);
        }
        catch (IOException)
        {
            // The CLI ended (or closed its stdin) before reading it all: its result tells the test.
        }
        finally
        {
            try
            {
                await to.DisposeAsync();
            }
            catch (IOException)
            {
                // Same: the pipe's reader is gone.
            }
        }
    }

    private static async Task CopyWatchingAsync(Stream from, MemoryStream to, (byte[] Text, TaskCompletionSource Seen)? watch)
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer)) > 0)
        {
            to.Write(buffer, 0, read);
            if (watch is { } w && !w.Seen.Task.IsCompleted && to.GetBuffer().AsSpan(0, (int)to.Length).IndexOf(w.Text) >= 0)
            {
                w.Seen.TrySetResult();
            }
        }
    }
}
