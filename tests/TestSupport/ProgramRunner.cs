using System.Diagnostics;

namespace Jobs.TestSupport;

/// <summary>Runs a helper program (tmux, apt-get) to its end, stdin closed and output collected.</summary>
public static class ProgramRunner
{
    /// <summary>
    /// Runs <paramref name="argv"/> with <paramref name="environment"/> added to this process's
    /// environment; kills it and its children when it outlasts <paramref name="timeout"/>.
    /// </summary>
    public static async Task<ProgramResult> RunAsync(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(argv[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        bool timedOut = false;
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            timedOut = true;
        }

        return new ProgramResult(timedOut ? -1 : process.ExitCode, await output, await error, timedOut);
    }
}
