using System.Diagnostics;
using System.Globalization;

namespace Jobs.Bench;

/// <summary>What plain .NET does without the server, measured in the same run as the figure it is compared with.</summary>
internal static class Baselines
{
    /// <summary>
    /// The pipe read of <paramref name="bytes"/> as a scenario's baseline: a small untimed run first
    /// (both sides measured warm; the server gets its warm-up job too), then the timed one, reported.
    /// Null, with the failure reported, when it did not read every byte right. <paramref name="key"/> is
    /// the report line's ("reference" where another baseline decides the verdict).
    /// </summary>
    public static async Task<double?> PipeRateAsync(ScenarioContext ctx, long bytes, string key = "baseline")
    {
        Report.Progress($"{key}: .NET reading TestChild flood {Units.Size(bytes)} from its stdout pipe");
        await PipeReadAsync(Units.MiB, ctx.Options.WriteSize, ctx.Token);
        var (lastByte, error) = await PipeReadAsync(bytes, ctx.Options.WriteSize, ctx.Token);
        double rate = Units.Rate(bytes, lastByte);
        ctx.Report.Line(key, $"Process.Start(TestChild flood) + 64 KiB BaseStream reads: {Units.Seconds(lastByte)} to last byte, {Units.MBps(rate)}");
        if (error is not null)
        {
            ctx.Report.Failure($"{key}: {error}");
            return null;
        }

        return rate;
    }

    /// <summary>
    /// <c>Process.Start(TestChild flood BYTES WRITESIZE)</c> with stdout redirected, its BaseStream read in
    /// 64 KiB reads and checked like a follower checks: time from the start to the last byte.
    /// </summary>
    public static async Task<(TimeSpan LastByte, string? Error)> PipeReadAsync(long bytes, int writeSize, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(BenchPaths.TestChild) { UseShellExecute = false, RedirectStandardOutput = true };
        start.ArgumentList.Add("flood");
        start.ArgumentList.Add(bytes.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(writeSize.ToString(CultureInfo.InvariantCulture));

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null");
        try
        {
            var stream = process.StandardOutput.BaseStream;
            var buffer = new byte[64 * 1024];
            long total = 0;
            string? error = null;
            // Bounded: stops at EOF, at the first byte too many, or at the scenario's timeout.
            while (true)
            {
                int read = await stream.ReadAsync(buffer, cancellationToken);
                if (read == 0)
                {
                    break;
                }

                if (read > bytes - total)
                {
                    error = $"more than {bytes} bytes";
                    break;
                }

                if (!PatternChecker.Matches(total, buffer.AsSpan(0, read), out long mismatch))
                {
                    error ??= $"byte at offset {mismatch} differs from the pattern";
                }

                total += read;
            }

            var lastByte = clock.Elapsed;
            if (error is not null && !process.HasExited)
            {
                // It may still be writing into a pipe nobody reads.
                process.Kill();
            }

            await process.WaitForExitAsync(cancellationToken);
            if (error is null && total != bytes)
            {
                error = $"{total} bytes, expected {bytes}";
            }

            if (error is null && process.ExitCode != 0)
            {
                error = $"TestChild exited with code {process.ExitCode}";
            }

            return (lastByte, error);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    /// <summary>
    /// <paramref name="count"/> times <c>Process.Start("/bin/true")</c> with stdout redirected, read to its
    /// end and the exit awaited, from <paramref name="callers"/> concurrent workers: the wall time and failures.
    /// </summary>
    public static async Task<(TimeSpan Wall, int Failures)> ProcessStartAsync(int count, int callers, CancellationToken cancellationToken)
    {
        int issued = 0;
        int failures = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref issued) <= count)
            {
                if (!await StartTrueAsync(cancellationToken))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }, cancellationToken)).ToList();
        await Task.WhenAll(workers);
        return (clock.Elapsed, failures);
    }

    /// <summary>One <c>/bin/true</c>, as above; true when it exited 0.</summary>
    public static async Task<bool> StartTrueAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/bin/true") { UseShellExecute = false, RedirectStandardOutput = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null");
        await process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode == 0;
    }
}
