using System.Text.Json;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>The CLI as people and scripts use it day to day: listing, JSON, snapshots, configuration, exit codes.</summary>
[Collection(ServerCollection.Name)]
public sealed class DailyUseTests(ServerFixture fixture) : IAsyncLifetime
{
    private const string UnknownId = "019365c8-7571-79f2-8991-9be713d63d56";
    private readonly List<string> _jobs = [];

    private string Endpoint => fixture.Server.Endpoint;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (string id in _jobs)
        {
            await Cli.RunAsync(Endpoint, "kill", "--grace", "0s", id);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Ps_without_an_id_lists_the_callers_jobs_newest_first_as_a_table_and_as_json()
    {
        string older = await RunAsync("sleep", "600");
        string newer = await RunAsync("sh", "-c", "exit 3");
        await Cli.RunAsync(Endpoint, "wait", newer);
        string others = (await Cli.RunAsync(Endpoint, "--cert", "certs/client2.pem", "--key", "certs/client2.key", "run", "--", "true")).StdoutText.Trim();

        var table = await Cli.RunAsync(Endpoint, "ps");
        var json = await Cli.RunAsync(Endpoint, "ps", "--output", "json");
        var all = await Cli.RunAsync(Endpoint, "--cert", "certs/admin.pem", "--key", "certs/admin.key", "ps", "--all");
        var notAdmin = await Cli.RunAsync(Endpoint, "ps", "--all");

        string[] lines = table.StdoutText.TrimEnd('\n').Split('\n');
        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"^ID +STATE +EXIT +NODE +USER +CPU +MEMORY +STARTED +DURATION +COMMAND$", lines[0]);
        int newerLine = Array.FindIndex(lines, l => l.StartsWith(newer, StringComparison.Ordinal));
        int olderLine = Array.FindIndex(lines, l => l.StartsWith(older, StringComparison.Ordinal));
        Assert.True(newerLine > 0 && olderLine > newerLine, table.StdoutText);
        Assert.Matches($@"^{newer} +Exited +3 +\S+ +jobs-\d+ +[\d.]+s +- +\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ +[\d.]+s +sh -c exit 3$", lines[newerLine]);
        // A running job shows its CPU time and the memory it holds now.
        Assert.Matches($@"^{older} +Running +- +\S+ +jobs-\d+ +[\d.]+s +[\d.]+[BKMG] ", lines[olderLine]);
        Assert.DoesNotContain(others, table.StdoutText);
        // Every column starts where the header's does.
        Assert.Equal(lines[0].IndexOf("STATE", StringComparison.Ordinal), lines[olderLine].IndexOf("Running", StringComparison.Ordinal));

        using var document = JsonDocument.Parse(json.StdoutText);
        var ids = document.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("jobId").GetString()).ToList();
        Assert.Contains(older, ids);
        Assert.True(ids.IndexOf(newer) < ids.IndexOf(older));
        Assert.All(document.RootElement.GetProperty("jobs").EnumerateArray(), j => Assert.Matches("^jobs-[0-9]+$", j.GetProperty("user").GetString()));
        Assert.Contains(others, all.StdoutText);
        Assert.Contains("OWNER", all.StdoutText);
        Assert.Equal(5, notAdmin.ExitCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Logs_without_follow_prints_what_there_is_and_returns_while_the_job_runs()
    {
        string id = await RunAsync("sh", "-c", "echo first; exec sleep 600");
        await WaitForOutputAsync(id, "first\n");

        var snapshot = await Cli.RunAsync(Endpoint, "logs", "--follow=false", id);
        var ndjson = await Cli.RunAsync(Endpoint, "logs", "--follow=false", "--output", "json", id);

        Assert.Equal((0, "first\n"), (snapshot.ExitCode, snapshot.StdoutText));
        using var line = JsonDocument.Parse(ndjson.StdoutText.Split('\n')[0]);
        Assert.Equal("first\n", System.Text.Encoding.UTF8.GetString(line.RootElement.GetProperty("chunk").GetProperty("data").GetBytesFromBase64()));
        Assert.Equal("Running", (await Cli.RunAsync(Endpoint, "ps", id)).StdoutText.Split(' ')[0]);
    }

    [Fact(Timeout = 120_000)]
    public async Task Logs_tail_starts_with_the_last_lines_then_follows()
    {
        string gate = Path.Combine(Path.GetTempPath(), $"jobs-tail-gate-{Guid.NewGuid():N}");
        // Apart in time: the order between the two streams holds for writes apart in time only (docs/design.md).
        string id = await RunAsync("sh", "-c", $"seq 1 5; sleep 0.3; echo oops >&2; while [ ! -e {gate} ]; do sleep 0.05; done; echo six");
        try
        {
            await WaitForOutputAsync(id, "1\n2\n3\n4\n5\n", "oops\n");
            var snapshot = await Cli.RunAsync(Endpoint, "logs", "--tail", "2", "--follow=false", id);
            var following = Cli.RunAsync(Endpoint, "logs", "--tail", "1", "--stdout", id);
            await Task.Delay(1500);
            await File.WriteAllTextAsync(gate, string.Empty);
            var followed = await following;

            // Both streams count, in order: the last two lines are "5" (stdout) and "oops" (stderr).
            Assert.Equal((0, "5\n", "oops\n"), (snapshot.ExitCode, snapshot.StdoutText, snapshot.Stderr));
            Assert.Equal(0, followed.ExitCode);
            Assert.EndsWith("six\n", followed.StdoutText);
            Assert.DoesNotContain("4", followed.StdoutText);
        }
        finally
        {
            File.Delete(gate);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Logs_timestamps_each_line_and_since_keeps_only_later_output()
    {
        string gate = Path.Combine(Path.GetTempPath(), $"jobs-since-gate-{Guid.NewGuid():N}");
        string id = await RunAsync("sh", "-c", $"echo early; while [ ! -e {gate} ]; do sleep 0.05; done; printf 'late '; echo line");
        try
        {
            await WaitForOutputAsync(id, "early\n");
            await Task.Delay(200);
            var between = DateTimeOffset.UtcNow;
            await Task.Delay(200);
            await File.WriteAllTextAsync(gate, string.Empty);
            await Cli.RunAsync(Endpoint, "wait", id);

            var stamped = await Cli.RunAsync(Endpoint, "logs", "--timestamps", id);
            var since = await Cli.RunAsync(Endpoint, "logs", "--since", between.ToString("O", System.Globalization.CultureInfo.InvariantCulture), id);
            var recent = await Cli.RunAsync(Endpoint, "logs", "--since", "1h", id);

            string[] lines = stamped.StdoutText.TrimEnd('\n').Split('\n');
            Assert.Equal(2, lines.Length);
            var times = lines.Select(l => DateTimeOffset.Parse(l.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z early$", lines[0]);
            Assert.EndsWith(" late line", lines[1]);
            Assert.True(times[0] < between && between < times[1], $"{times[0]:O} < {between:O} < {times[1]:O}");
            Assert.Equal("late line\n", since.StdoutText);
            Assert.Equal("early\nlate line\n", recent.StdoutText);
        }
        finally
        {
            File.Delete(gate);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Json_output_serves_scripts_for_run_wait_and_kill()
    {
        var run = await Cli.RunAsync(Endpoint, "run", "--output", "json", "--", "sleep", "600");
        using var started = JsonDocument.Parse(run.StdoutText);
        string id = started.RootElement.GetProperty("jobId").GetString()!;
        _jobs.Add(id);
        var kill = await Cli.RunAsync(Endpoint, "kill", "-o", "json", "--grace", "0s", id);
        var wait = await Cli.RunAsync(Endpoint, "wait", "-o", "json", id);

        using var killed = JsonDocument.Parse(kill.StdoutText);
        using var waited = JsonDocument.Parse(wait.StdoutText);
        Assert.Equal("JOB_STATE_KILLED", killed.RootElement.GetProperty("state").GetString());
        Assert.Equal("END_REASON_KILLED_BY_REQUEST", killed.RootElement.GetProperty("endReason").GetString());
        Assert.Equal(128 + 15, wait.ExitCode);
        Assert.Equal("client1", waited.RootElement.GetProperty("owner").GetString());
    }

    [Fact(Timeout = 120_000)]
    public async Task Environment_variables_and_the_config_file_configure_the_cli_and_flags_win()
    {
        string config = Path.Combine(Path.GetTempPath(), $"jobs-config-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["endpoint"] = Endpoint,
            ["cert"] = Path.Combine(Repo.Certs, "client2.pem"),
            ["key"] = Path.Combine(Repo.Certs, "client2.key"),
        }));
        try
        {
            var fromFile = await Cli.RunConfiguredAsync(new Dictionary<string, string> { ["JOBS_CONFIG"] = config }, "run", "--output", "json", "--wait", "--", "true");
            var fromEnvironment = await Cli.RunConfiguredAsync(
                new Dictionary<string, string> { ["JOBS_CONFIG"] = config, ["JOBS_CERT"] = "certs/client1.pem", ["JOBS_KEY"] = "certs/client1.key" },
                "run", "--output", "json", "--wait", "--", "true");
            var show = await Cli.RunConfiguredAsync(
                new Dictionary<string, string> { ["JOBS_CONFIG"] = config, ["JOBS_CERT"] = "certs/client1.pem" },
                "--domain", "localhost", "config", "show");
            var flagWins = await Cli.RunConfiguredAsync(new Dictionary<string, string> { ["JOBS_ENDPOINT"] = "https://127.0.0.1:1" }, "--endpoint", Endpoint, "ps", UnknownId);

            using var asClient2 = JsonDocument.Parse(fromFile.StdoutText);
            using var asClient1 = JsonDocument.Parse(fromEnvironment.StdoutText);
            Assert.Equal("client2", asClient2.RootElement.GetProperty("owner").GetString());
            Assert.Equal("client1", asClient1.RootElement.GetProperty("owner").GetString());
            Assert.Matches($@"endpoint +{Regex(Endpoint)} +file {Regex(config)}", show.StdoutText);
            Assert.Matches(@"cert +certs/client1\.pem +environment JOBS_CERT", show.StdoutText);
            Assert.Matches(@"domain +localhost +flag --domain", show.StdoutText);
            Assert.Matches(@"serverCa +certs/server_ca\.pem +default", show.StdoutText);
            Assert.Equal(4, flagWins.ExitCode);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Shell_completion_scripts_and_job_ids_complete_from_the_server()
    {
        string id = await RunAsync("sleep", "600");
        var environment = new Dictionary<string, string> { ["JOBS_ENDPOINT"] = Endpoint };

        var ids = await Cli.RunConfiguredAsync(environment, "[suggest:10]", "jobs kill ");
        var prefix = await Cli.RunConfiguredAsync(environment, $"[suggest:{"jobs logs ".Length + 8}]", $"jobs logs {id[..8]}");
        var verbs = await Cli.RunConfiguredAsync(environment, "[suggest:7]", "jobs lo");
        var bash = await Cli.RunConfiguredAsync(environment, "completion", "bash");
        var unknown = await Cli.RunConfiguredAsync(environment, "completion", "tcsh");

        Assert.Contains(id, ids.StdoutText.Split('\n'));
        Assert.Contains("--grace", ids.StdoutText.Split('\n'));
        Assert.Contains(id, prefix.StdoutText.Split('\n'));
        Assert.Equal("logs\n", verbs.StdoutText);
        Assert.Contains("complete -o default -F _jobs_complete jobs", bash.StdoutText);
        Assert.Equal(2, unknown.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Exit_codes_tell_not_found_from_connection_and_usage_errors()
    {
        var notFound = await Cli.RunAsync(Endpoint, "ps", UnknownId);
        var verbose = await Cli.RunAsync(Endpoint, "--verbose", "ps", UnknownId);
        var usage = await Cli.RunAsync(Endpoint, "ps", "--output", "yaml");
        var connection = await Cli.RunAsync($"https://127.0.0.1:{FreePorts.Next()}", "ps", UnknownId);

        Assert.Equal(4, notFound.ExitCode);
        Assert.Equal($"jobs: job {UnknownId} not found\n", notFound.Stderr);
        Assert.EndsWith("[status NotFound]\n", verbose.Stderr);
        Assert.Equal(2, usage.ExitCode);
        Assert.Equal(3, connection.ExitCode);
    }

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);

    private async Task WaitForOutputAsync(string id, string expected, string expectedStderr = "")
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await Cli.RunAsync(Endpoint, "ps", "-o", "json", id)).StdoutText is var json
            && !(json.Contains($"\"stdoutBytes\": \"{expected.Length}\"", StringComparison.Ordinal)
                && json.Contains($"\"stderrBytes\": \"{expectedStderr.Length}\"", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no output '{expected}' in time: {json}");
            await Task.Delay(100);
        }
    }

    private async Task<string> RunAsync(params string[] command)
    {
        var run = await Cli.RunAsync(Endpoint, ["run", "--", .. command]);
        Assert.True(run.ExitCode == 0, run.ToString());
        string id = run.StdoutText.Trim();
        _jobs.Add(id);
        return id;
    }
}
