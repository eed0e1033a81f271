using System.Text;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// A follower through the real CLI while the gateway of the split deployment (a silo process and a
/// gateway process) is killed or stopped and started again on the same port: the follower
/// reconnects, resumes from the offsets it had reached, and its output is byte-exact.
/// </summary>
/// <remarks>One deployment serves the class's tests, which run one after another; each test starts
/// with a gateway running (one that a test before it killed is started again).</remarks>
public sealed class CliReconnectTests(CliReconnectTests.SplitDeployment deployment) : IClassFixture<CliReconnectTests.SplitDeployment>
{
    private const int Lines = 2000;
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);
    private static readonly string Expected = string.Concat(Enumerable.Range(0, Lines).Select(i => $"line {i}\n"));

    [Fact(Timeout = 240_000)]
    public async Task Logs_follow_reconnects_after_the_gateway_is_killed_and_restarted_and_misses_no_byte()
    {
        await deployment.RestartGatewayAsync();
        string id = await deployment.StartJobAsync(TestChildProgram.Path, "drip", Lines.ToString(System.Globalization.CultureInfo.InvariantCulture), "0.006");
        var (follow, seen) = Cli.RunWatchingAsync(deployment.Endpoint, TimeSpan.FromMinutes(3), "line 300\n", "logs", "-f", id);
        await seen;

        await deployment.Gateway.KillHardAsync();
        await deployment.RestartGatewayAsync();
        var result = await follow;

        Assert.True(result.ExitCode == 0, $"{result}\n{deployment.Logs}");
        Assert.True(result.StdoutText == Expected, $"stdout differs from the {Lines} lines: {result.Stdout.Length} bytes, ends '{Tail(result.StdoutText)}'; stderr '{result.Stderr}'\n{deployment.Logs}");
        Assert.Matches(@"^jobs: connection lost; reconnected after \d+\.\d s\n$", result.Stderr);
    }

    [Fact(Timeout = 240_000)]
    public async Task Run_follow_reconnects_after_the_gateway_is_stopped_and_restarted_and_exits_with_the_jobs_code()
    {
        // A stopping gateway ends open follows at once (StoppingServerTests), so the job need not
        // outlast the host's 30 s shutdown timeout.
        await deployment.RestartGatewayAsync();
        string script = $"'{TestChildProgram.Path}' drip {Lines} 0.008; exit 7";
        var (follow, seen) = Cli.RunWatchingAsync(deployment.Endpoint, TimeSpan.FromMinutes(3), "line 300\n", "run", "--follow", "--", "sh", "-c", script);
        await seen;

        await deployment.Gateway.StopAsync(StopTimeout);
        await deployment.RestartGatewayAsync();
        var result = await follow;

        Assert.True(result.ExitCode == 7, $"{result}\n{deployment.Logs}");
        Assert.True(result.StdoutText == Expected, $"stdout differs from the {Lines} lines: {result.Stdout.Length} bytes, ends '{Tail(result.StdoutText)}'; stderr '{result.Stderr}'\n{deployment.Logs}");
        Assert.Matches(@"^jobs: connection lost; reconnected after \d+\.\d s\n$", result.Stderr);
    }

    [Fact(Timeout = 240_000)]
    public async Task Wait_reconnects_after_the_gateway_is_killed_and_restarted_and_exits_with_the_jobs_code()
    {
        await deployment.RestartGatewayAsync();
        string id = await deployment.StartJobAsync("sh", "-c", $"'{TestChildProgram.Path}' sleep 25; exit 7");
        var wait = Cli.RunWithTimeoutAsync(deployment.Endpoint, TimeSpan.FromMinutes(3), "wait", id);
        await WaitUntilWaitingAsync(deployment, id);

        await deployment.Gateway.KillHardAsync();
        await deployment.RestartGatewayAsync();
        var result = await wait;

        Assert.True(result.ExitCode == 7, $"{result}\n{deployment.Logs}");
        Assert.Matches(@"^jobs: connection lost; reconnected after \d+\.\d s\n$", result.Stderr);
    }

    [Fact(Timeout = 240_000)]
    public async Task A_follower_whose_gateway_stays_away_gives_up_after_reconnect_for_with_the_connection_code()
    {
        await deployment.RestartGatewayAsync();
        string id = await deployment.StartJobAsync(TestChildProgram.Path, "drip", "100000", "0.05");
        try
        {
            var (follow, seen) = Cli.RunWatchingAsync(deployment.Endpoint, TimeSpan.FromMinutes(2), "line 3\n", "logs", "--reconnect-for", "3s", id);
            await seen;
            var killedAt = DateTime.UtcNow;

            await deployment.Gateway.KillHardAsync();
            var result = await follow;

            Assert.True(result.ExitCode == 3, $"{result}\n{deployment.Logs}");
            Assert.StartsWith("jobs: server unavailable: the connection to the server was lost and did not come back within 3s", result.Stderr);
            Assert.InRange(DateTime.UtcNow - killedAt, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(60));
        }
        finally
        {
            await deployment.RestartGatewayAsync();
            await Cli.RunAsync(deployment.Endpoint, "kill", "--grace", "1s", id);
        }
    }

    [Fact(Timeout = 240_000)]
    public async Task With_reconnect_for_0_a_follower_ends_when_its_gateway_is_killed()
    {
        await deployment.RestartGatewayAsync();
        string id = await deployment.StartJobAsync(TestChildProgram.Path, "drip", "100000", "0.05");
        try
        {
            var (follow, seen) = Cli.RunWatchingAsync(deployment.Endpoint, TimeSpan.FromMinutes(2), "line 3\n", "logs", "--reconnect-for", "0", id);
            await seen;

            await deployment.Gateway.KillHardAsync();
            var result = await follow;

            Assert.True(result.ExitCode == 3, $"{result}\n{deployment.Logs}");
            Assert.DoesNotContain("reconnected", result.Stderr);
        }
        finally
        {
            await deployment.RestartGatewayAsync();
            await Cli.RunAsync(deployment.Endpoint, "kill", "--grace", "1s", id);
        }
    }

    // A Wait call shows nothing until the end: give the CLI time to start and connect (seconds on a
    // loaded machine). Were it not connected yet, the kill would make it fail or not reconnect, and
    // the test fail, never pass wrongly.
    private static async Task WaitUntilWaitingAsync(SplitDeployment deployment, string id)
    {
        await Task.Delay(TimeSpan.FromSeconds(8));
        var ps = await Cli.RunAsync(deployment.Endpoint, "ps", id);
        Assert.True(ps.StdoutText.StartsWith("Running", StringComparison.Ordinal), $"the job ended before the gateway was killed: {ps}\n{deployment.Logs}");
    }

    private static string Tail(string text) => text.Length > 40 ? text[^40..].Replace("\n", "\\n", StringComparison.Ordinal) : text;

    /// <summary>A silo process and a remote gateway process; the gateway may be restarted on its port.</summary>
    public sealed class SplitDeployment : IAsyncLifetime
    {
        private ServerProcess _silo = null!;
        private readonly List<ServerProcess> _gateways = [];

        public ServerProcess Gateway => _gateways[^1];

        public string Endpoint => Gateway.Endpoint;

        public string Logs
        {
            get
            {
                var text = new StringBuilder("===== silo =====\n").Append(_silo.Log);
                foreach (var gateway in _gateways)
                {
                    text.Append("===== gateway (pid ").Append(gateway.Pid).Append(") =====\n").Append(gateway.Log);
                }

                return text.ToString();
            }
        }

        public async Task InitializeAsync()
        {
            int siloGatewayPort = FreePorts.Next();
            _silo = await ServerProcess.StartSiloAsync(FreePorts.Next(), siloGatewayPort);
            try
            {
                _gateways.Add(await ServerProcess.StartRemoteGatewayAsync(siloGatewayPort));
            }
            catch
            {
                // xunit does not dispose a fixture whose start failed.
                await _silo.DisposeAsync();
                throw;
            }
        }

        public async Task<string> StartJobAsync(params string[] command)
        {
            var run = await Cli.RunAsync(Endpoint, ["run", "--", .. command]);
            Assert.True(run.ExitCode == 0, $"{run}\n{Logs}");
            return run.StdoutText.Trim();
        }

        /// <summary>Starts the gateway again, same port and arguments, once it has exited (a no-op while it runs).</summary>
        public async Task RestartGatewayAsync()
        {
            if (Gateway.HasExited)
            {
                _gateways.Add(await Gateway.StartAgainAsync());
            }
        }

        public async Task DisposeAsync()
        {
            foreach (var gateway in _gateways)
            {
                await gateway.DisposeAsync();
            }

            // Stopping the silo ends every job it still runs.
            if (!_silo.HasExited)
            {
                await _silo.StopAsync(StopTimeout);
            }

            await _silo.DisposeAsync();
        }
    }
}
