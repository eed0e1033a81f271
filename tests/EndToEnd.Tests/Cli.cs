using System.Diagnostics;

namespace Jobs.EndToEnd.Tests;

/// <summary>Runs the real <c>jobs</c> CLI from the repository root, so its default certificate paths apply.</summary>
public static class Cli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static Task<CliResult> RunAsync(string endpoint, params string[] args) => RunAsync(endpoint, null, args);

    /// <summary>Runs the CLI and sends it SIGTERM after <paramref name="terminateAfter"/>, as an operator's Ctrl+C would stop it.</summary>
    public static async Task<CliResult> RunAsync(string endpoint, TimeSpan? terminateAfter, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Repo.Root,
        };
        start.ArgumentList.Add(Repo.ClientDll);
        start.ArgumentList.Add("--endpoint");
        start.ArgumentList.Add(endpoint);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var readErr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(Timeout);
        if (terminateAfter is { } after)
        {
            await Task.Delay(after);
            Jobs.TestSupport.Signals.Terminate(process.Id);
        }

        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"jobs {string.Join(' ', args)} did not finish in {Timeout}");
        }

        await copyOut;
        return new CliResult(process.ExitCode, stdout.ToArray(), await readErr);
    }
}
