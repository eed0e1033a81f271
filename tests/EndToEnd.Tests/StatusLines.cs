using System.Globalization;
using System.Text.RegularExpressions;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// The CLI's status lines as tests compare them. Each names the job's node (<c>node=NAME</c>) once
/// the server tells it, and the account it runs as (<c>user=NAME</c>); which names those are (the
/// host's, a silo's; a uid given to the identity) is the deployment's, not the test's.
/// </summary>
public static partial class StatusLines
{
    /// <summary>The text with every <c> node=NAME</c> and <c> user=NAME</c> taken out.</summary>
    public static string WithoutNodeAndUser(string text) => NodeOrUserPart().Replace(text, string.Empty);

    /// <summary>The status line of <c>ps ID</c> (its first, before the limits and usage lines), without node and user, with its newline.</summary>
    public static string StatusOf(string text) => WithoutNodeAndUser(text.Split('\n')[0]) + "\n";

    /// <summary>The pid of a <c>Running pid=N ...</c> line.</summary>
    public static int Pid(string text)
    {
        var match = RunningPid().Match(text);
        Assert.True(match.Success, $"no 'Running pid=N' in '{text}'");
        return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@" (node|user)=\S+")]
    private static partial Regex NodeOrUserPart();

    [GeneratedRegex(@"^Running pid=(\d+)")]
    private static partial Regex RunningPid();
}
