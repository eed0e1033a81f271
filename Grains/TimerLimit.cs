namespace Jobs.Grains;

/// <summary>The longest duration a timer here can hold.</summary>
/// <remarks>
/// .NET timers (and so grain timers and <see cref="Task.Delay(TimeSpan)"/>) take at most
/// 2^32 - 2 ms, about 49.7 days; a longer one throws where it is armed. A job's durations are
/// checked against it before anything is started, so such a throw never comes after a spawn.
/// </remarks>
internal static class TimerLimit
{
    public static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    // Rounded down, never up: "50 days" would name a timeout that is refused.
    public static string Describe() => $"{(int)Longest.TotalDays} days {Longest:hh\\:mm\\:ss}";
}
