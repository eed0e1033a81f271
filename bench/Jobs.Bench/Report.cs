using System.Diagnostics;

namespace Jobs.Bench;

/// <summary>How a scenario came out; the order is the exit code's precedence (see <see cref="BenchApp"/>).</summary>
internal enum Outcome
{
    Pass,
    Miss,
    Timeout,
    Interrupted,
    Error,
    Failed,
}

/// <summary>
/// A scenario's figures as plain aligned lines on stdout ("key   value"); progress goes to stderr so
/// stdout holds only the figures. Tracks the verdicts and whether anything was wrong.
/// </summary>
internal sealed class Report(string scenario, string deployment)
{
    private const int KeyWidth = 22;
    private static readonly Stopwatch s_since = Stopwatch.StartNew();
    private readonly List<(string Key, bool Pass, string Text)> _verdicts = [];
    private readonly List<string> _failures = [];

    public string Scenario => scenario;

    public string Deployment => deployment;

    public bool Failed => _failures.Count > 0;

    public Outcome Outcome => Failed ? Outcome.Failed : _verdicts.Count > 0 && _verdicts.All(v => v.Pass) ? Outcome.Pass : Outcome.Miss;

    /// <summary>The verdicts in a few words, for the summary of <c>all</c>.</summary>
    public string Brief => _verdicts.Count == 1 && _verdicts[0].Key == ""
        ? _verdicts[0].Text
        : string.Join("; ", _verdicts.Select(v => $"{v.Key} {(v.Pass ? "PASS" : "MISS")} {v.Text}"));

    public static void Progress(string text)
    {
        Console.Error.WriteLine($"[{s_since.Elapsed.TotalSeconds,8:F1}s] {text}");
    }

    public static void Write(string key, string value)
    {
        string[] lines = value.Split('\n');
        Console.Out.WriteLine($"{key.PadRight(KeyWidth)} {lines[0]}");
        foreach (string line in lines.Skip(1))
        {
            Console.Out.WriteLine($"{new string(' ', KeyWidth)} {line}");
        }

        Console.Out.Flush();
    }

    public void Line(string key, string value) => Write(key, value);

    /// <summary>A PASS/MISS line; <paramref name="name"/> says which target when a scenario has several.</summary>
    public void Verdict(string name, bool pass, string text)
    {
        _verdicts.Add((name, pass, text));
        Write(name == "" ? "result" : $"result ({name})", $"{(pass ? "PASS" : "MISS")}  {text}");
    }

    /// <summary>Wrong output, a failed call or a wrong status: the bench exits 1.</summary>
    public void Failure(string text)
    {
        _failures.Add(text);
        Write("ERROR", text);
    }

    /// <summary>
    /// Reports a follower's correctness; false (with an ERROR line) when a byte it got was wrong or the call
    /// failed. Output the server dropped (per-job cap) is a MISS of "complete" unless <paramref name="dropsExpected"/>.
    /// </summary>
    public bool Checked(Follower follower, string label = "byte-exact", bool dropsExpected = false)
    {
        if (follower.Error is not null)
        {
            Failure($"{follower.Name}: {follower.Error}");
            return false;
        }

        if (follower.End is null && !follower.Stopped)
        {
            Failure($"{follower.Name}: no end message");
            return false;
        }

        string drops = follower.Drops > 0 ? $" apart from {follower.DroppedBytes} bytes the server dropped (OutputDropped)" : "";
        Write(label, follower.Stopped
            ? $"yes, {follower.Bytes} bytes before it was stopped, offsets continuous{drops}"
            : $"yes, {follower.Bytes} bytes, offsets continuous{drops}, end: {StatusText.Of(follower.End)}");
        if (follower.Drops > 0 && !dropsExpected)
        {
            Dropped(follower.Name, follower.DroppedBytes, follower.Drops);
        }

        return true;
    }

    /// <summary>A MISS: a follower meant to get every byte was told some were dropped (the server's per-job output cap).</summary>
    public void Dropped(string who, long bytes, int messages)
    {
        Verdict("complete", false, $"{who}: the server dropped {bytes} bytes ({messages} OutputDropped) before they were read; figures count delivered bytes; raise the cap with --server-arg=--Jobs:MaxOutputBytesPerJob=N");
    }
}
