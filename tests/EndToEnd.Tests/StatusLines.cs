using System.Globalization;
using System.Text.RegularExpressions;

namespace Jobs.EndToEnd.Tests;

/// <summary>
/// The CLI's status lines as tests compare them. Each names the job's node (<c>node=NAME</c>) once
/// the server tells it; which name that is (the host's, a silo's) is the deployment's, not the test's.
/// </summary>
public static partial class StatusLines
{
    /// <summary>The text with every <c> node=NAME</c> taken out.</summary>
    public static string WithoutNode(string text) => NodePart().Replace(text, string.Empty);

    /// <summary>The pid of a <c>Running pid=N ...</c> line.</summary>
    public static int Pid(string text)
    {
        var match = RunningPid().Match(text);
        Assert.True(match.Success, $"no 'Running pid=N' in '{text}'");
        return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@" node=\S+")]
    private static partial Regex NodePart();

    [GeneratedRegex(@"^Running pid=(\d+)")]
    private static partial Regex RunningPid();
}
