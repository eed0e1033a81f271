using System.Collections.Concurrent;
using Orleans.Storage;

namespace Jobs.Silo;

/// <summary>
/// The <see cref="JobStorage"/> provider of a one-silo server: state lives in the silo's memory for
/// the silo's life, as the jobs themselves do. The state object itself is kept, never a copy or a
/// serialized form, so an activation and the store share it; a grain that is deactivated (a
/// finished job no one reads) finds it again when it is activated.
/// </summary>
internal sealed class MemoryOnlyGrainStorage : IGrainStorage
{
    private readonly ConcurrentDictionary<(string State, GrainId Grain), object> _states = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_states.TryGetValue((stateName, grainId), out var state))
        {
            grainState.State = (T)state;
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _states[(stateName, grainId)] = grainState.State!;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _states.TryRemove((stateName, grainId), out _);
        grainState.State = Activator.CreateInstance<T>();
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }
}
