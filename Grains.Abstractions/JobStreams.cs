namespace Jobs.Grains;

/// <summary>Names under which job output is published; the stream key is the job id.</summary>
public static class JobStreams
{
    /// <summary>The stream provider silo and clients register.</summary>
    public const string ProviderName = "JobOutput";

    /// <summary>The stream namespace of output notices.</summary>
    public const string OutputNamespace = "job-output";

    /// <summary>The grain storage the stream provider keeps its subscriptions in.</summary>
    public const string PubSubStore = "PubSubStore";
}
