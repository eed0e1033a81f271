namespace Jobs.EndToEnd.Tests;

/// <summary>
/// <c>run -i/-d</c> and <c>attach</c> with a pipe as the CLI's stdin, against the real
/// one-command server: stdin to the job byte-exact with its end of file, output back, exit codes,
/// ownership.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class CliInteractiveTests(ServerFixture fixture) : IAsyncLifetime
{
    private static readonly string[] Client2 = ["--cert", "certs/client2.pem", "--key", "certs/client2.key"];

    private readonly List<string> _jobs = [];

    private string Endpoint => fixture.Server.Endpoint;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (string id in _jobs)
        {
            await Cli.RunAsync(Endpoint, "kill", id);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Piped_lines_reach_sort_and_their_end_of_file_lets_it_finish()
    {
        var result = await Cli.RunWithStdinAsync(Endpoint, "b\na\n"u8.ToArray(), "run", "-i", "--", "sort");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("a\nb\n", result.StdoutText);
        Assert.Equal(string.Empty, result.Stderr);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_MiB_of_stdin_comes_back_through_cat_byte_exact()
    {
        var input = new byte[1024 * 1024];
        new Random(1515).NextBytes(input);

        var result = await Cli.RunWithStdinAsync(Endpoint, input, "run", "-i", "--", "cat");

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}, stderr '{result.Stderr}'");
        Assert.True(input.AsSpan().SequenceEqual(result.Stdout), $"got {result.Stdout.Length} bytes back, not the {input.Length} sent");
    }

    [Fact(Timeout = 120_000)]
    public async Task The_jobs_exit_code_and_its_stderr_come_back_apart()
    {
        var result = await Cli.RunWithStdinAsync(Endpoint, "7\n"u8.ToArray(), "run", "-i", "--", "sh", "-c", "read n; echo out; echo err >&2; exit $n");

        Assert.Equal(7, result.ExitCode);
        Assert.Equal("out\n", result.StdoutText);
        Assert.Equal("err\n", result.Stderr);
    }

    [Fact(Timeout = 180_000)]
    public async Task Run_id_leaves_the_job_waiting_for_stdin_and_attach_gives_it()
    {
        var run = await Cli.RunAsync(Endpoint, "run", "-id", "--", "cat");
        Assert.True(run.ExitCode == 0, run.ToString());
        string id = Remember(run.StdoutText.Trim());

        var ps = await Cli.RunAsync(Endpoint, "ps", id);
        var attach = await Cli.RunWithStdinAsync(Endpoint, "given later\n"u8.ToArray(), "attach", id);

        Assert.StartsWith("Running", ps.StdoutText, StringComparison.Ordinal);
        Assert.True(attach.ExitCode == 0, attach.ToString());
        Assert.Equal("given later\n", attach.StdoutText);
    }

    [Fact(Timeout = 120_000)]
    public async Task Attach_replay_shows_a_finished_jobs_output_and_exits_with_its_code()
    {
        var run = await Cli.RunAsync(Endpoint, "run", "--", "sh", "-c", "echo first; exit 5");
        string id = Remember(run.StdoutText.Trim());
        Assert.Equal(5, (await Cli.RunAsync(Endpoint, "wait", id)).ExitCode);

        var attach = await Cli.RunAsync(Endpoint, "attach", "--replay", id);

        Assert.True(attach.ExitCode == 5, attach.ToString());
        Assert.Equal("first\n", attach.StdoutText);
    }

    [Fact(Timeout = 120_000)]
    public async Task Another_identitys_job_and_an_unknown_one_are_not_found()
    {
        var run = await Cli.RunAsync(Endpoint, "run", "-id", "--", "cat");
        string id = Remember(run.StdoutText.Trim());

        var foreign = await Cli.RunWithStdinAsync(Endpoint, "not yours\n"u8.ToArray(), [.. Client2, "attach", id]);
        var unknown = await Cli.RunAsync(Endpoint, "attach", "019365c8-7571-79f2-8991-9be713d63d56");

        Assert.True(foreign.ExitCode == 4, foreign.ToString());
        Assert.Contains("not found", foreign.Stderr, StringComparison.Ordinal);
        Assert.True(unknown.ExitCode == 4, unknown.ToString());
        Assert.StartsWith("Running", (await Cli.RunAsync(Endpoint, "ps", id)).StdoutText, StringComparison.Ordinal);
    }

    private string Remember(string id)
    {
        _jobs.Add(id);
        return id;
    }
}
