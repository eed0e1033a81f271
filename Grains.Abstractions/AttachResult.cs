namespace Jobs.Grains;

/// <summary>The answer to <see cref="IJobGrain.AttachAsync"/>.</summary>
/// <param name="Status">The job's status at the attach.</param>
/// <param name="Input">True when the attach now holds the job's stdin.</param>
/// <param name="Position">The position of the job's output at the attach: where output "from now on" starts.</param>
[GenerateSerializer, Immutable, Alias("Jobs.AttachResult")]
public sealed record AttachResult(
    [property: Id(0)] JobStatus Status,
    [property: Id(1)] bool Input,
    [property: Id(2)] long Position);
