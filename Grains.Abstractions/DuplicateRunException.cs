namespace Jobs.Grains;

/// <summary>
/// A start carried a request id its identity used already for a job that is still kept: that job
/// is the answer (<see cref="JobId"/>), and nothing was started. Not an error of the caller's; a
/// retried Run ends here.
/// </summary>
[GenerateSerializer, Alias("Jobs.DuplicateRunException")]
public sealed class DuplicateRunException(string message, string jobId) : Exception(message)
{
    /// <summary>The job the request id started first.</summary>
    [Id(0)]
    public string JobId { get; set; } = jobId;
}
