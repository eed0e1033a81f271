namespace Jobs.Grains.Tests;

/// <summary>How a job's variables are layered: passed through, configured, asked for, and the job id last.</summary>
public sealed class JobEnvironmentTests
{
    [Fact(Timeout = 10_000)]
    public async Task Configuration_replaces_passed_variables_the_caller_replaces_both_and_the_job_id_comes_last()
    {
        await Task.Yield();
        string passed = $"JOBS_TEST_PASSED_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(passed, "from-server");
        try
        {
            var options = new JobOptions
            {
                PassEnvironment = [passed, "JOBS_TEST_NEVER_SET"],
                Environment = new Dictionary<string, string> { ["A"] = "config", ["B"] = "config" },
            };

            var variables = JobEnvironment.Compose(options, new Dictionary<string, string> { ["B"] = "caller", [passed] = "caller" }, "job-1");

            Assert.Equal(
                new Dictionary<string, string> { [passed] = "caller", ["A"] = "config", ["B"] = "caller", ["JOBS_JOB_ID"] = "job-1" },
                variables);
            Assert.Equal("from-server", JobEnvironment.Compose(options, null, "job-2")[passed]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(passed, null);
        }
    }

    [Fact(Timeout = 10_000)]
    public async Task A_caller_cannot_set_the_job_id()
    {
        await Task.Yield();

        var error = Assert.Throws<InvalidJobSpecException>(() =>
            JobEnvironment.Compose(new JobOptions(), new Dictionary<string, string> { ["JOBS_JOB_ID"] = "forged" }, "job-1"));

        Assert.Equal("JOBS_JOB_ID is set by the server (the job's id)", error.Message);
    }

    [Theory(Timeout = 10_000)]
    [InlineData("Environment", "", "Jobs:Environment: a variable name cannot be empty")]
    [InlineData("Environment", "JOBS_JOB_ID", "Jobs:Environment: JOBS_JOB_ID is set by the server")]
    [InlineData("PassEnvironment", "A=B", "Jobs:PassEnvironment: 'A=B' cannot be a variable name")]
    [InlineData("PassEnvironment", "", "Jobs:PassEnvironment: a variable name cannot be empty")]
    public async Task Configuration_with_a_name_that_is_no_variable_name_is_refused(string setting, string name, string message)
    {
        await Task.Yield();
        var options = setting == "Environment"
            ? new JobOptions { Environment = new Dictionary<string, string> { [name] = "1" } }
            : new JobOptions { PassEnvironment = [name] };

        var error = Assert.Throws<InvalidOperationException>(options.ValidateEnvironment);

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        new JobOptions { Environment = new Dictionary<string, string> { ["OK"] = "1" }, PassEnvironment = ["OK2"] }.ValidateEnvironment();
    }
}
