namespace Jobs.TestSupport;

/// <summary>A test of something only some machines offer: skipped, saying what is missing, where this machine lacks it.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NeedsAttribute : Xunit.FactAttribute
{
    /// <summary>Needs as <see cref="Machine.Missing"/> takes them.</summary>
    public NeedsAttribute(params string[] needs)
    {
        Skip = Machine.Missing(needs);
    }
}
