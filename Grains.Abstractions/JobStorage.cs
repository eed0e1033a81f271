namespace Jobs.Grains;

/// <summary>
/// The grain storage of what must outlive a node (job records, owners' job lists, the registry):
/// Redis with Redis clustering, nothing (memory only, as the jobs themselves) with localhost clustering.
/// </summary>
public static class JobStorage
{
    /// <summary>The storage provider's name.</summary>
    public const string Name = "jobs";
}
