using System.Text;
using System.Text.Json;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// Text the CLI prints for a person cannot drive the terminal: commands, arguments and echoed
/// input show control and bidi characters as escapes, while JSON keeps every value exact.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class TerminalSafetyTests(ServerFixture fixture) : IAsyncLifetime
{
    // Set the window title, ring the bell, clear the screen, break the row, a C1 CSI, and a
    // right-to-left override and isolate that would show "exe.txt" backwards.
    private static readonly string[] HostileArgs =
        ["\u001b]0;pwned\u0007", "\u001b[2J", "a\nb\tc\rd\u007f", "\u009b31m", "\u202etxt.exe", "\u2067x\u2069"];

    private static readonly string EscapedArgs = @"\x1b]0;pwned\x07 \x1b[2J a\nb\tc\rd\x7f \u009b31m \u202etxt.exe \u2067x\u2069";

    private readonly List<string> _jobs = [];

    private string Endpoint => fixture.Server.Endpoint;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (string id in _jobs)
        {
            await Cli.RunAsync(Endpoint, "rm", id);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Ps_shows_control_and_bidi_characters_of_a_command_escaped_and_json_keeps_them_exact()
    {
        var run = await Cli.RunAsync(Endpoint, ["run", "--wait", "--output", "json", "--", "sh", "-c", "true", .. HostileArgs]);
        Assert.True(run.ExitCode == 0, run.ToString());
        string id = Remember(JsonDocument.Parse(run.StdoutText).RootElement.GetProperty("jobId").GetString()!);

        var table = await Cli.RunAsync(Endpoint, "ps");
        var single = await Cli.RunAsync(Endpoint, "ps", id);
        var all = await Cli.RunAsync(Endpoint, "--cert", "certs/admin.pem", "--key", "certs/admin.key", "ps", "--all");
        var json = await Cli.RunAsync(Endpoint, "ps", "--output", "json");
        var allJson = await Cli.RunAsync(Endpoint, "--cert", "certs/admin.pem", "--key", "certs/admin.key", "ps", "--all", "--output", "json");

        foreach (var result in new[] { table, single, all, json, allJson })
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            AssertNoTerminalControls(result.Stdout);
        }

        Assert.Matches($@"^{id} +Exited +0 +\S+ +jobs-[0-9]+ +\S+ +- +\S+ +\S+ +sh -c true {System.Text.RegularExpressions.Regex.Escape(EscapedArgs)}$", Line(table, id));
        Assert.Matches($@"^{id} +client1 +Exited +0 +\S+ +jobs-[0-9]+ +\S+ +- +\S+ +\S+ +sh -c true {System.Text.RegularExpressions.Regex.Escape(EscapedArgs)}$", Line(all, id));
        Assert.Equal("Exited code=0\n", StatusLines.StatusOf(single.StdoutText));
        string[] exact = ["-c", "true", .. HostileArgs];
        Assert.Equal(exact, Args(json, id));
        Assert.Equal(exact, Args(allJson, id));
    }

    [Theory(Timeout = 120_000)]
    [InlineData("run", "--", "jobs-no-such-\u001b[2J\u202e", @"cannot start 'jobs-no-such-\x1b[2J\u202e': No such file or directory")]
    [InlineData("ps", "\u001b]0;pwned\u0007", @"'\x1b]0;pwned\x07' is not a job id")]
    [InlineData("kill", "\u009b2J\nx", @"'\u009b2J\nx' is not a job id")]
    [InlineData("--cert", "/jobs-no-such-\u001b[2J.pem", "ps", @"cannot read client certificate '/jobs-no-such-\x1b[2J.pem': no such file")]
    [InlineData("bogus\u001b[2J", @"'bogus\x1b[2J'")]
    public async Task Error_messages_show_what_they_echo_escaped(params string[] argsThenMessage)
    {
        var result = await Cli.RunAsync(Endpoint, argsThenMessage[..^1]);

        Assert.NotEqual(0, result.ExitCode);
        AssertNoTerminalControls(Encoding.UTF8.GetBytes(result.Stderr));
        Assert.Contains(argsThenMessage[^1], result.Stderr);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }

    /// <summary>No C0 control but the line ends, no DEL, no C1 control, no bidi embedding, override or isolate.</summary>
    private static void AssertNoTerminalControls(byte[] output)
    {
        string text = Encoding.UTF8.GetString(output);
        var found = text.TrimEnd('\n').Split('\n').SelectMany(line => line)
            .Where(c => char.IsControl(c) || c is (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069'))
            .Select(c => $"U+{(int)c:X4}")
            .ToList();
        Assert.True(found.Count == 0, $"raw {string.Join(", ", found.Distinct())} in: {text}");
    }

    private static string Line(CliResult result, string id) =>
        result.StdoutText.Split('\n').Single(line => line.StartsWith(id, StringComparison.Ordinal));

    private static string[] Args(CliResult result, string id)
    {
        using var document = JsonDocument.Parse(result.StdoutText);
        var job = document.RootElement.GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("jobId").GetString() == id);
        Assert.Equal("sh", job.GetProperty("command").GetString());
        return [.. job.GetProperty("args").EnumerateArray().Select(a => a.GetString()!)];
    }

    private string Remember(string id)
    {
        _jobs.Add(id);
        return id;
    }
}
