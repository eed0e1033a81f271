using Jobs.Gateway;
using Jobs.Gateway.Services;

namespace Jobs.Grains.Tests;

/// <summary>A job whose exit cannot be read still ends: its waiters, its kill and its owner's slot are not held forever.</summary>
[Collection(FaultyExitClusterCollection.Name)]
public sealed class ExitPathFailureTests(FaultyExitClusterFixture fixture)
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(40));

    [Fact(Timeout = 60_000)]
    public async Task A_job_whose_exit_faults_ends_with_an_unknown_exit_and_frees_its_owners_slot()
    {
        string owner = NewOwner();
        string id = await StartAsync(owner, FaultyExitLauncher.FaultsSoon);

        var ended = await new JobEndWaiter(fixture.Client).WaitAsync(id, _ => true, _timeout.Token);

        Assert.True(ended.Ended);
        Assert.Null(ended.ExitCode);
        Assert.NotNull(ended.EndedAt);
        // One running job per identity: a second one starts only if the first one's slot is free.
        await StartAsync(owner, FaultyExitLauncher.FaultsSoon);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_kill_of_a_job_whose_exit_faults_answers_with_the_final_status()
    {
        string owner = NewOwner();
        string id = await StartAsync(owner, "runs-until-killed");
        var waiter = new JobEndWaiter(fixture.Client).WaitAsync(id, _ => true, _timeout.Token);

        var killed = await Grain(id).KillAsync(TimeSpan.FromSeconds(5));
        var waited = await waiter;

        Assert.Equal((JobState.Killed, EndReason.KilledByRequest), (killed.State, killed.EndReason));
        Assert.Equal(killed.EndedAt, waited.EndedAt);
        // One running job per identity: a second one starts only if the first one's slot is free.
        string next = await StartAsync(owner, "runs-until-killed");
        Assert.Equal(JobState.Killed, (await Grain(next).KillAsync(TimeSpan.Zero)).State);
        Assert.True(await Grain(id).ForgetAsync(), "the ended job could not be forgotten");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_job_whose_exit_faults_keeps_the_output_it_wrote()
    {
        string id = await StartAsync(NewOwner(), FaultyExitLauncher.FaultsSoon);
        await new JobEndWaiter(fixture.Client).WaitAsync(id, _ => true, _timeout.Token);

        var slice = await Grain(id).ReadOutputAsync(0, 1024);

        Assert.Equal("some output\n", string.Concat(slice.Records.Select(r => System.Text.Encoding.ASCII.GetString(r.Data))));
        Assert.NotNull(slice.Final);
    }

    private static string NewOwner() => $"faulty-{Guid.NewGuid():N}";

    private IJobGrain Grain(string id) => fixture.Client.GetGrain<IJobGrain>(id);

    private async Task<string> StartAsync(string owner, string command)
    {
        string id = JobIds.New();
        await Grain(id).StartAsync(new JobSpec(command, []) { Owner = owner });
        return id;
    }
}
