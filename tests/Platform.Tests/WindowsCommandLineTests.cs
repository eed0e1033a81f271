using Jobs.Platform.Windows;

namespace Jobs.Platform.Tests;

/// <summary>
/// The Windows command line and environment block, checked here as data (the contract run under
/// Wine checks them with real processes).
/// </summary>
public sealed class WindowsCommandLineTests
{
    // The examples of the Microsoft C runtime's "Parsing C command-line arguments".
    [Theory(Timeout = 10_000)]
    [InlineData("prog \"abc\" d e", new[] { "abc", "d", "e" })]
    [InlineData(@"prog a\\\b d""e f""g h", new[] { @"a\\\b", "de fg", "h" })]
    [InlineData(@"prog a\\\""b c d", new[] { @"a\""b", "c", "d" })]
    [InlineData(@"prog a\\\\""b c"" d e", new[] { @"a\\b c", "d", "e" })]
    [InlineData(@"prog a""b"""" c d", new[] { @"ab"" c d" })]
    public async Task Split_follows_the_documented_examples(string line, string[] expected)
    {
        await Task.Yield();

        Assert.Equal(["prog", .. expected], CommandLine.Split(line));
    }

    [Fact(Timeout = 10_000)]
    public async Task Build_round_trips_awkward_arguments()
    {
        await Task.Yield();
        var random = new Random(20261127);
        const string alphabet = "ab \\\"\t'x";
        for (int i = 0; i < 2000; i++)
        {
            string[] args = [.. Enumerable.Range(0, random.Next(0, 5)).Select(_ => new string([.. Enumerable.Range(0, random.Next(0, 8)).Select(_ => alphabet[random.Next(alphabet.Length)])]))];

            string line = CommandLine.Build(@"C:\Program Files\app.exe", args);

            Assert.Equal([@"C:\Program Files\app.exe", .. args], CommandLine.Split(line));
        }
    }

    [Fact(Timeout = 10_000)]
    public async Task A_program_name_with_a_quote_is_refused()
    {
        await Task.Yield();

        Assert.Throws<ArgumentException>(() => CommandLine.Build("a\"b.exe", []));
    }

    [Fact(Timeout = 10_000)]
    public async Task The_environment_block_is_sorted_without_case_and_overrides_replace_any_case()
    {
        await Task.Yield();
        var inherited = new Dictionary<string, string> { ["Path"] = @"C:\Windows", ["b"] = "2", ["A"] = "1" };

        string block = EnvironmentBlock.Build(inherited, new Dictionary<string, string> { ["PATH"] = @"C:\bin", ["c"] = "x=y" });

        Assert.Equal("A=1\0b=2\0c=x=y\0PATH=C:\\bin\0\0", block);
        Assert.Throws<ArgumentException>(() => EnvironmentBlock.Build(inherited, new Dictionary<string, string> { ["a=b"] = "1" }));
    }
}
