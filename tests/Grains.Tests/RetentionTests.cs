using Jobs.Gateway;
using Jobs.Gateway.Services;
using Jobs.TestChild;
using Jobs.TestSupport;
using Orleans.TestingHost;

namespace Jobs.Grains.Tests;

/// <summary>Finished jobs are forgotten at the end of their retention, in memory or not.</summary>
public sealed class RetentionTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Retention = TimeSpan.FromSeconds(3);
    private readonly RetentionClusterFixture _fixture = new();
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    public void Dispose() => _timeout.Dispose();

    [Fact(Timeout = 90_000)]
    public async Task Finished_jobs_are_forgotten_with_their_output_once_past_their_retention_whether_in_memory_or_not()
    {
        var follower = new JobOutputFollower(_fixture.Client);
        string kept = JobIds.New();
        string collected = JobIds.New();
        foreach (string id in new[] { kept, collected })
        {
            await _fixture.Client.GetGrain<IJobGrain>(id).StartAsync(new JobSpec(TestChildProgram.Path, ["flood", "100K"]));
            await FollowResult.CollectAsync(follower, id, _timeout.Token);
            Assert.True(Directory.Exists(_fixture.JobFolder(id)));
        }

        await Collection.CollectIdleAsync(_fixture.Client, collected);
        var ended = DateTime.UtcNow;

        foreach (string id in new[] { kept, collected })
        {
            while (Directory.Exists(_fixture.JobFolder(id)) && DateTime.UtcNow - ended < Retention + TimeSpan.FromSeconds(20))
            {
                await Task.Delay(200);
            }

            Assert.False(Directory.Exists(_fixture.JobFolder(id)), $"job {id}'s output is still there {DateTime.UtcNow - ended} after its end");
            await Assert.ThrowsAsync<JobNotFoundException>(_fixture.Client.GetGrain<IJobGrain>(id).GetStatusAsync);
        }

        Assert.True(DateTime.UtcNow - ended >= Retention - TimeSpan.FromSeconds(1), "forgotten before its retention ended");
    }

    private sealed class RetentionClusterFixture : ClusterFixture
    {
        protected override void AddSiloConfigurator(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<RetentionSiloConfigurator>();

        private sealed class RetentionSiloConfigurator : LocalSiloConfigurator
        {
            private static readonly string Folder = Path.Combine(Path.GetTempPath(), "jobs-tests", Guid.NewGuid().ToString("N"));

            protected override string DataDirectory => Folder;

            protected override void Configure(JobOptions options) => options.Retention = Retention;
        }
    }
}
