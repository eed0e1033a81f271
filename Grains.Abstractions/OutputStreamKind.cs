namespace Jobs.Grains;

/// <summary>Which output stream of a job a record belongs to.</summary>
[GenerateSerializer, Alias("Jobs.OutputStreamKind")]
public enum OutputStreamKind
{
    /// <summary>Standard output.</summary>
    Stdout = 1,

    /// <summary>Standard error.</summary>
    Stderr = 2,
}
