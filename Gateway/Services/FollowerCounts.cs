namespace Jobs.Gateway.Services;

/// <summary>Open Logs calls per identity on this gateway, for <c>Gateway:Limits:MaxFollowersPerIdentity</c>.</summary>
public sealed class FollowerCounts
{
    private readonly Dictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary>A slot, released by disposing it; null when the identity already has <paramref name="limit"/> open.</summary>
    public IDisposable? TryEnter(string identity, int limit)
    {
        lock (_open)
        {
            int open = _open.GetValueOrDefault(identity);
            if (open >= limit)
            {
                return null;
            }

            _open[identity] = open + 1;
        }

        return new Slot(this, identity);
    }

    private void Leave(string identity)
    {
        lock (_open)
        {
            if (--_open[identity] == 0)
            {
                _open.Remove(identity);
            }
        }
    }

    private sealed class Slot(FollowerCounts counts, string identity) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                counts.Leave(identity);
            }
        }
    }
}
