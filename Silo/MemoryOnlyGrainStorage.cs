using Orleans.Storage;

namespace Jobs.Silo;

/// <summary>
/// The <see cref="JobStorage"/> provider of a one-silo server: grains keep their state in their
/// activation, as the jobs themselves are in memory; nothing is copied or written anywhere.
/// </summary>
internal sealed class MemoryOnlyGrainStorage : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => Task.CompletedTask;

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        grainState.State = Activator.CreateInstance<T>();
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }
}
