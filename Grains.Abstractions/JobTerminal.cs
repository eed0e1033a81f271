namespace Jobs.Grains;

/// <summary>The size of a job's pseudo-terminal in character cells.</summary>
/// <param name="Rows">Lines, 1-65535.</param>
/// <param name="Columns">Columns, 1-65535.</param>
[GenerateSerializer, Immutable, Alias("Jobs.JobTerminal")]
public sealed record JobTerminal(
    [property: Id(0)] int Rows,
    [property: Id(1)] int Columns)
{
    /// <summary>Whether both figures are within 1-65535.</summary>
    public bool IsValid => Rows is >= 1 and <= ushort.MaxValue && Columns is >= 1 and <= ushort.MaxValue;
}
