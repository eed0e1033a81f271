using System.Diagnostics;

namespace Jobs.Bench;

/// <summary>Wall time of one whole process: start, output read to its end, exit.</summary>
internal static class ProcessTimer
{
    /// <summary>Runs the program once; a non-zero exit code fails the scenario with its output.</summary>
    public static async Task<(TimeSpan Elapsed, string Output)> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        clock.Stop();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await error}{await output}");
        }

        return (clock.Elapsed, await output);
    }

    /// <summary>Sorted wall times of <paramref name="count"/> runs after <paramref name="warmUp"/> untimed ones, one at a time.</summary>
    public static async Task<List<TimeSpan>> TimeAsync(string program, IReadOnlyList<string> args, int warmUp, int count, CancellationToken cancellationToken)
    {
        var times = new List<TimeSpan>();
        for (int i = 0; i < warmUp + count; i++)
        {
            var (elapsed, _) = await RunAsync(program, args, cancellationToken);
            if (i >= warmUp)
            {
                times.Add(elapsed);
            }
        }

        times.Sort();
        return times;
    }
}
