namespace Jobs.Platform.Contract;

/// <summary>A contract check failed.</summary>
public sealed class ContractFailure(string message) : Exception(message);

/// <summary>Assertions with no test framework behind them, so they work in any runner.</summary>
public static class Check
{
    public static void True(bool condition, string what)
    {
        if (!condition)
        {
            throw new ContractFailure(what);
        }
    }

    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new ContractFailure($"{what}: expected <{expected}>, got <{actual}>");
        }
    }

    public static async Task<TException> ThrowsAsync<TException>(Func<Task> action, string what)
        where TException : Exception
    {
        try
        {
            await action();
        }
        catch (TException e)
        {
            return e;
        }
        catch (Exception e)
        {
            throw new ContractFailure($"{what}: expected {typeof(TException).Name}, got {e.GetType().Name}: {e.Message}");
        }

        throw new ContractFailure($"{what}: expected {typeof(TException).Name}, nothing was thrown");
    }
}
