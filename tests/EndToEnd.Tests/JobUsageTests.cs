using System.Text.Json;

namespace Jobs.EndToEnd.Tests;

/// <summary>What a job uses, as <c>ps -o json</c> shows it, against the one-command server.</summary>
[Collection(ServerCollection.Name)]
public sealed class JobUsageTests(ServerFixture fixture)
{
    // Burns CPU in the shell itself until its own user time (field 14 of /proc/PID/stat, in clock
    // ticks of 10 ms) reaches $1 ticks: the same CPU time however busy the machine is.
    private const string Burn = "burn() { t=$1; while :; do n=0; while [ $n -lt 20000 ]; do n=$((n+1)); done; read -r l < /proc/$$/stat; set -- $l; [ ${14} -ge $t ] && break; done; }; ";

    private string Endpoint => fixture.Server.Endpoint;

    [Needs("cgroup:memory", "cgroup:pids", Timeout = 120_000)]
    public async Task A_job_that_holds_64_MiB_and_burns_2_s_of_cpu_shows_that_while_running_and_its_totals_after()
    {
        // 64 MiB held by tail (a line without end is kept whole), then 2 s of CPU, then a sleep.
        string id = (await Cli.RunAsync(Endpoint, "run", "--", "sh", "-c", Burn + "head -c 64M /dev/zero | tail > /dev/null; burn 200; exec sleep 600")).StdoutText.Trim();
        try
        {
            JsonElement running = default;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            do
            {
                await Task.Delay(200);
                running = Usage(await Cli.RunAsync(Endpoint, "ps", "-o", "json", id));
            }
            while (!(running.TryGetProperty("cpuTime", out var cpu) && Seconds(cpu) >= 2.0 && Long(running, "tasks") == 1) && DateTime.UtcNow < deadline);

            var text = await Cli.RunAsync(Endpoint, "ps", id);
            await Cli.RunAsync(Endpoint, "kill", "--grace", "0s", id);
            var ended = Usage(await Cli.RunAsync(Endpoint, "ps", "-o", "json", id));

            Assert.InRange(Seconds(running.GetProperty("cpuTime")), 2.0, 3.5);
            Assert.InRange(Long(running, "memoryPeakBytes"), 64L << 20, 96L << 20);
            Assert.InRange(Long(running, "memoryBytes"), 1, 16L << 20);
            Assert.Equal(1, Long(running, "tasks"));
            Assert.True(running.TryGetProperty("ioReadBytes", out _) && running.TryGetProperty("ioWriteBytes", out _), running.ToString());
            Assert.Matches(@"^usage: cpu=[23]\.\d\ds memory=[\d.]+ [KM]iB memory-peak=6[4-9](\.\d+)? MiB tasks=1 io-read=[\d.]+ [KMG]?i?B io-write=[\d.]+ [KMG]?i?B$", text.StdoutText.Split('\n')[2]);

            // Once ended: the totals stay, the figures of now go.
            Assert.InRange(Seconds(ended.GetProperty("cpuTime")), Seconds(running.GetProperty("cpuTime")), 3.5);
            Assert.Equal(Long(running, "memoryPeakBytes"), Long(ended, "memoryPeakBytes"));
            Assert.False(ended.TryGetProperty("memoryBytes", out _), ended.ToString());
            Assert.False(ended.TryGetProperty("tasks", out _), ended.ToString());
        }
        finally
        {
            await Cli.RunAsync(Endpoint, "kill", "--grace", "0s", id);
        }
    }

    private static JsonElement Usage(CliResult ps)
    {
        Assert.True(ps.ExitCode == 0, ps.ToString());
        using var document = JsonDocument.Parse(ps.StdoutText);
        return document.RootElement.GetProperty("usage").Clone();
    }

    private static long Long(JsonElement usage, string name) =>
        usage.TryGetProperty(name, out var value) ? long.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : -1;

    // A protobuf JSON duration: "2.345119300s".
    private static double Seconds(JsonElement duration) =>
        double.Parse(duration.GetString()!.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture);
}
