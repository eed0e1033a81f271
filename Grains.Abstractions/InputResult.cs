namespace Jobs.Grains;

/// <summary>What became of input handed to a job (<see cref="IJobGrain.WriteInputAsync"/> and the calls beside it).</summary>
[GenerateSerializer, Alias("Jobs.InputResult")]
public enum InputResult
{
    /// <summary>Taken: it will be written to the job's stdin in order.</summary>
    Accepted = 0,

    /// <summary>Not taken: the job has not read what it was given yet. Hand it over again.</summary>
    Full = 1,

    /// <summary>Not taken: another attach holds the job's stdin now.</summary>
    NotHolder = 2,

    /// <summary>Not taken: the job's stdin is closed (end of input was sent, or the job ended), or it never had one.</summary>
    Closed = 3,
}
