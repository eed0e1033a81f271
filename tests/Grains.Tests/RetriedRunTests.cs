using Jobs.Gateway;
using Jobs.TestSupport;

namespace Jobs.Grains.Tests;

/// <summary>Starts that carry a client-chosen request id, as a client that retries a Run sends them.</summary>
[Collection(ShortTimeoutClusterCollection.Name)]
public sealed class RetriedRunTests(ShortTimeoutClusterFixture fixture) : IDisposable
{
    private readonly List<string> _jobs = [];

    public void Dispose()
    {
        Task.WhenAll(_jobs.Select(async id =>
        {
            try
            {
                await Grain(id).KillAsync(TimeSpan.Zero);
            }
            catch (JobNotFoundException)
            {
                // never started: a duplicate
            }
        })).Wait(TimeSpan.FromSeconds(30));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_second_start_with_the_same_request_id_answers_with_the_first_job_and_starts_nothing()
    {
        string owner = NewOwner();
        string requestId = Guid.NewGuid().ToString();
        string first = await StartAsync(owner, requestId, "exit", "0");

        var retry = await Assert.ThrowsAsync<DuplicateRunException>(() => StartAsync(owner, requestId, "exit", "0"));

        Assert.Equal(first, retry.JobId);
        Assert.Equal([first], await Owner(owner).JobsAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task Twenty_concurrent_starts_with_one_request_id_start_exactly_one_job()
    {
        string owner = NewOwner();
        string requestId = Guid.NewGuid().ToString();
        var ids = Enumerable.Range(0, 20).Select(_ => JobIds.New()).ToArray();
        _jobs.AddRange(ids);

        var outcomes = await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                await Grain(id).StartAsync(new JobSpec("sleep", ["600"]) { Owner = owner, RequestId = requestId });
                return id;
            }
            catch (DuplicateRunException e)
            {
                return e.JobId;
            }
        }));

        string started = Assert.Single(await Owner(owner).JobsAsync());
        Assert.All(outcomes, o => Assert.Equal(started, o));
        Assert.Equal(JobState.Running, (await Grain(started).GetStatusAsync()).State);
        foreach (string other in ids.Where(i => i != started))
        {
            await Assert.ThrowsAsync<JobNotFoundException>(Grain(other).GetStatusAsync);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Another_identity_with_the_same_request_id_starts_a_job_of_its_own()
    {
        string requestId = Guid.NewGuid().ToString();
        string me = NewOwner();
        string them = NewOwner();
        string mine = await StartAsync(me, requestId, "exit", "0");

        string theirs = await StartAsync(them, requestId, "exit", "0");

        Assert.NotEqual(mine, theirs);
        Assert.Equal([mine], await Owner(me).JobsAsync());
        Assert.Equal([theirs], await Owner(them).JobsAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_start_that_failed_may_be_retried_with_its_request_id()
    {
        string owner = NewOwner();
        string requestId = Guid.NewGuid().ToString();
        string failed = JobIds.New();
        await Assert.ThrowsAsync<JobStartFailedException>(() =>
            Grain(failed).StartAsync(new JobSpec("jobs-no-such-program", []) { Owner = owner, RequestId = requestId }));

        string started = await StartAsync(owner, requestId, "exit", "0");

        Assert.NotEqual(failed, started);
        Assert.Equal([started], await Owner(owner).JobsAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task A_forgotten_job_frees_its_request_id()
    {
        string owner = NewOwner();
        string requestId = Guid.NewGuid().ToString();
        string first = await StartAsync(owner, requestId, "exit", "0");
        await new Gateway.Services.JobEndWaiter(fixture.Client).WaitAsync(first, _ => true, new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.True(await Grain(first).ForgetAsync());

        string second = await StartAsync(owner, requestId, "exit", "0");

        Assert.NotEqual(first, second);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(129)]
    [InlineData(-1)]
    public async Task A_request_id_too_long_or_not_printable_is_refused(int length)
    {
        string requestId = length < 0 ? "retry\n1" : new string('r', length);
        string id = JobIds.New();

        await Assert.ThrowsAsync<InvalidJobSpecException>(() => Grain(id).StartAsync(new JobSpec("true", []) { Owner = NewOwner(), RequestId = requestId }));

        await Assert.ThrowsAsync<JobNotFoundException>(Grain(id).GetStatusAsync);
    }

    private static string NewOwner() => $"retry-{Guid.NewGuid():N}";

    private IJobGrain Grain(string id) => fixture.Client.GetGrain<IJobGrain>(id);

    private IOwnerGrain Owner(string owner) => fixture.Client.GetGrain<IOwnerGrain>(owner);

    private async Task<string> StartAsync(string owner, string requestId, params string[] args)
    {
        string id = JobIds.New();
        _jobs.Add(id);
        await Grain(id).StartAsync(new JobSpec(TestChildProgram.Path, args) { Owner = owner, RequestId = requestId });
        return id;
    }
}
