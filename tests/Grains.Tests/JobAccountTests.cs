namespace Jobs.Grains.Tests;

/// <summary>
/// Which account a job runs as, from the configuration alone, and the uids identities get: the
/// registry on a real cluster (TestingHost), each test in a range of uids of its own.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class JobAccountTests(ClusterFixture fixture)
{
    private static readonly AccountOptions Mapped = new()
    {
        Identities = new(StringComparer.Ordinal) { ["alice"] = ["alice", "build"], ["ops"] = ["root"] },
    };

    [Theory]
    [InlineData("alice", false, null, "Named alice")]
    [InlineData("alice", false, "build", "Named build")]
    [InlineData("ops", false, null, "Named root")]
    [InlineData("bob", false, null, "Dynamic")]
    [InlineData("Alice", false, null, "Dynamic")]
    [InlineData("bob", true, "root", "Named root")]
    [InlineData("", false, null, "Server")]
    [InlineData("", false, "nobody", "Named nobody")]
    public void A_job_runs_as_its_identitys_first_account_the_one_it_picks_or_a_uid_of_its_own(string owner, bool admin, string? user, string expected)
    {
        var account = JobAccount.Choose(Mapped, new JobSpec("true", []) { Owner = owner, OwnerIsAdmin = admin, User = user }, cannotSwitch: null);

        Assert.Equal(expected, account switch
        {
            JobAccount.Named named => $"Named {named.Account}",
            JobAccount.Dynamic => "Dynamic",
            JobAccount.Server => "Server",
            _ => account.ToString(),
        });
    }

    [Theory]
    [InlineData("alice", "root", "maps it to 'alice', 'build'")]
    [InlineData("bob", "bob", "maps it to no account (its jobs run as a uid of its own)")]
    [InlineData("Alice", "alice", "maps it to no account")]
    public void An_account_outside_the_mapping_is_refused_unless_the_owner_is_an_admin(string owner, string user, string reason)
    {
        var refused = Assert.Throws<AccountNotAllowedException>(() =>
            JobAccount.Choose(Mapped, new JobSpec("true", []) { Owner = owner, User = user }, cannotSwitch: null));

        Assert.StartsWith($"'{owner}' may not run jobs as '{user}': the server's configuration {reason}", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_that_cannot_switch_runs_jobs_as_itself_and_refuses_an_account()
    {
        var mine = JobAccount.Choose(Mapped, new JobSpec("true", []) { Owner = "alice" }, cannotSwitch: "the server runs as uid 1000 (me), not root");
        var refused = Assert.Throws<AccountUnavailableException>(() =>
            JobAccount.Choose(Mapped, new JobSpec("true", []) { Owner = "alice", User = "build" }, cannotSwitch: "the server runs as uid 1000 (me), not root"));

        Assert.IsType<JobAccount.Server>(mine);
        Assert.Equal("cannot run the job as 'build': the server runs as uid 1000 (me), not root, so every job runs as the server's user; run it without --user", refused.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task Each_identity_gets_a_uid_of_its_own_once_and_keeps_it()
    {
        var registry = fixture.Client.GetGrain<IUidRegistryGrain>(0);
        string[] identities = [.. Enumerable.Range(0, 3).Select(i => $"uid-test-{i}-{Guid.NewGuid():N}")];

        uint[] first = await Task.WhenAll(identities.Select(identity => registry.UidOfAsync(identity, 70_100, 70_102)));
        uint[] again = await Task.WhenAll(Enumerable.Reverse(identities).Select(identity => registry.UidOfAsync(identity, 70_100, 70_102)));

        Assert.Equal([70_100u, 70_101u, 70_102u], first.Order());
        Assert.Equal(first, Enumerable.Reverse(again));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_full_range_refuses_a_new_identity_and_still_answers_the_ones_it_has()
    {
        var registry = fixture.Client.GetGrain<IUidRegistryGrain>(0);
        string holder = $"uid-holder-{Guid.NewGuid():N}";

        uint held = await registry.UidOfAsync(holder, 70_200, 70_200);
        var refused = await Assert.ThrowsAsync<AccountUnavailableException>(() => registry.UidOfAsync("uid-late", 70_200, 70_200));

        Assert.Equal(70_200u, held);
        Assert.Equal(held, await registry.UidOfAsync(holder, 70_200, 70_200));
        Assert.Equal("no uid is left for 'uid-late': all 1 of 70200..70200 belong to other identities (Jobs:Accounts:FirstDynamicUid, LastDynamicUid)", refused.Message);
    }
}
