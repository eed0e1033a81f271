using Jobs.Platform.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobs.Grains;

/// <summary>
/// The node's budget for all its jobs' spooled output (<c>Jobs:MaxOutputBytesTotal</c>): one per
/// silo, shared by its job grains' output logs. A log reserves room before each write; when there is
/// none, the oldest finished jobs' output is removed first (their files deleted here and then, their
/// status kept), and a running job's bytes that still do not fit are not kept. Thread-safe: grains
/// call it from their own turns, many at once.
/// </summary>
public sealed class OutputBudget
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);

    // Finished jobs' accounts, oldest end first: the first to go when room is needed.
    private readonly LinkedList<Account> _finished = new();
    private readonly ILogger<OutputBudget> _logger;
    private long _used;

    public OutputBudget(IOptions<JobOptions> options, DataDirectory directory, ILogger<OutputBudget> logger)
        : this(Resolve(options.Value.MaxOutputBytesTotal, directory), logger)
    {
    }

    /// <summary>A budget of <paramref name="limit"/> bytes (0: none).</summary>
    public OutputBudget(long limit, ILogger<OutputBudget> logger)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Limit = limit;
        _logger = logger;
        if (limit > 0)
        {
            logger.LogInformation("Output budget: {Bytes} bytes for all jobs' output on this node ({Setting})", limit, $"{JobOptions.Section}:MaxOutputBytesTotal");
        }
    }

    /// <summary>The most bytes all jobs' output may take on this node; 0 when there is no budget.</summary>
    public long Limit { get; }

    /// <summary>Bytes the jobs' spools hold now, as reserved by their logs.</summary>
    public long Used
    {
        get
        {
            lock (_lock)
            {
                return _used;
            }
        }
    }

    // Unset: half of the free space where output goes, when the server starts.
    private static long Resolve(long? configured, DataDirectory directory)
    {
        if (configured is { } bytes)
        {
            return bytes >= 0 ? bytes : throw new InvalidOperationException($"{JobOptions.Section}:MaxOutputBytesTotal cannot be negative (0: no budget)");
        }

        return Math.Max(directory.AvailableBytes() / 2, 1);
    }

    /// <summary>The account of the spool in <paramref name="directory"/>: a new one, or the one it has (a finished job's log opened again).</summary>
    internal Account Open(string directory)
    {
        lock (_lock)
        {
            if (!_accounts.TryGetValue(directory, out var account))
            {
                account = new Account(this, directory);
                _accounts.Add(directory, account);
            }

            return account;
        }
    }

    private bool TryReserve(Account account, long bytes)
    {
        List<Account>? removed = null;
        bool reserved;
        lock (_lock)
        {
            if (account.Removed || account.Closed)
            {
                return false;
            }

            while (Limit > 0 && _used + bytes > Limit && _finished.First is { } oldest && oldest.Value != account)
            {
                // Marked before its files go: the log that owns them stops reading them.
                var victim = oldest.Value;
                _finished.RemoveFirst();
                victim.Node = null;
                victim.Removed = true;
                _used -= victim.Bytes;
                victim.Bytes = 0;
                (removed ??= []).Add(victim);
            }

            reserved = Limit == 0 || _used + bytes <= Limit;
            if (reserved)
            {
                _used += bytes;
                account.Bytes += bytes;
            }
        }

        foreach (var victim in removed ?? [])
        {
            _logger.LogInformation("Output budget: removed the output in {Directory} (the oldest finished job's) to make room", victim.Directory);
            try
            {
                if (Directory.Exists(victim.Directory))
                {
                    Directory.Delete(victim.Directory, recursive: true);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Counted as freed all the same: the job's log deletes its folder when it is forgotten.
                _logger.LogWarning(e, "Output budget: could not delete {Directory}", victim.Directory);
            }
        }

        return reserved;
    }

    private void Release(Account account, long bytes)
    {
        lock (_lock)
        {
            bytes = Math.Min(bytes, account.Bytes);
            account.Bytes -= bytes;
            _used -= bytes;
        }
    }

    private void Finish(Account account)
    {
        lock (_lock)
        {
            if (!account.Removed && !account.Closed && account.Node is null)
            {
                account.Node = _finished.AddLast(account);
            }
        }
    }

    private void Close(Account account)
    {
        lock (_lock)
        {
            if (account.Closed)
            {
                return;
            }

            account.Closed = true;
            _used -= account.Bytes;
            account.Bytes = 0;
            if (account.Node is { } node)
            {
                _finished.Remove(node);
                account.Node = null;
            }

            _accounts.Remove(account.Directory);
        }
    }

    /// <summary>One job's spool in the budget. Its state is the budget's, under its lock, but for <see cref="Removed"/>.</summary>
    internal sealed class Account(OutputBudget budget, string directory)
    {
        private volatile bool _removed;

        public string Directory { get; } = directory;

        /// <summary>The spool was deleted to make room: none of its output is held any more.</summary>
        public bool Removed
        {
            get => _removed;
            set => _removed = value;
        }

        internal long Bytes { get; set; }

        internal bool Closed { get; set; }

        internal LinkedListNode<Account>? Node { get; set; }

        /// <summary>Room for <paramref name="bytes"/> more, made by removing finished jobs' output if need be; false when there is none.</summary>
        public bool TryReserve(long bytes) => budget.TryReserve(this, bytes);

        /// <summary>Bytes reserved that the spool does not hold (a failed write, or the cap's drop).</summary>
        public void Release(long bytes) => budget.Release(this, bytes);

        /// <summary>The job ended: its output may now be removed to make room, the oldest first.</summary>
        public void Finish() => budget.Finish(this);

        /// <summary>The spool is deleted: its bytes leave the budget.</summary>
        public void Close() => budget.Close(this);
    }
}
