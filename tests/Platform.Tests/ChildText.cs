using System.Text;

namespace Jobs.Platform.Tests;

/// <summary>What a child wrote, as text, once it ended: the drain the tests of children share.</summary>
internal static class ChildText
{
    /// <summary>
    /// Waits, without reading it, until the child has written something: a child that says it is
    /// ready (a trap or handler set) is signalled only then, as a fixed wait can be too short on a
    /// loaded machine. Fails the test after 20 s.
    /// </summary>
    public static async Task WaitForOutputAsync(IChild child)
    {
        using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.True(await child.Output.WaitToReadAsync(ready.Token), "the child wrote nothing");
    }

    /// <summary>Reads the child's output to its end (stdout; stderr too, interleaved as it came, when asked) and waits for its exit.</summary>
    public static async Task<(string Stdout, ChildExit Exit)> DrainAsync(IChild child, TimeSpan patience, bool stderrToo = false)
    {
        var bytes = new List<byte>();
        await foreach (var output in child.Output.ReadAllAsync())
        {
            if (output.Stream == ChildStream.Stdout || stderrToo)
            {
                bytes.AddRange(output.Data);
            }
        }

        return (Encoding.UTF8.GetString([.. bytes]), await child.Exited.WaitAsync(patience));
    }
}
