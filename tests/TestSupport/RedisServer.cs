using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace Jobs.TestSupport;

/// <summary>
/// A real <c>redis-server</c> of the tests' own, on a loopback port, with no persistence and no
/// configuration file, in a temporary folder. Disposing kills it and deletes the folder, so every
/// key it held goes with it.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string Program = "redis-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _log = new();
    private ConnectionMultiplexer? _connection;
    private bool _disposed;

    private RedisServer(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        _directory = directory;
    }

    /// <summary>The password it requires (<c>requirepass</c>), or null when it requires none.</summary>
    public string? Password { get; private init; }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>A StackExchange.Redis connection string, as <c>Orleans:Redis</c> takes it: without the password.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Its temporary folder (<c>--dir</c>), deleted when it is disposed.</summary>
    public string Folder => _directory;

    /// <summary>The process id of the server.</summary>
    public int Pid { get; private set; }

    /// <summary>What the server wrote to stdout and stderr, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Installs redis-server (the Debian package) when it is not on PATH; see <see cref="DebianPackage"/>.</summary>
    /// <returns>A line saying it was installed, or null when it was there.</returns>
    /// <exception cref="MissingProgramException">It is not there and could not be installed.</exception>
    public static Task<string?> EnsureInstalledAsync() => DebianPackage.EnsureInstalledAsync(Program, "redis-server", "the cluster tests");

    /// <summary>
    /// Starts a server on <paramref name="port"/> (or a free one) and waits until it answers PING;
    /// installs redis-server first when the machine lacks it.
    /// </summary>
    /// <exception cref="MissingProgramException"><c>redis-server</c> is not installed and could not be.</exception>
    /// <exception cref="InvalidOperationException">It did not start.</exception>
    /// <param name="port">The port, or null for a free one.</param>
    /// <param name="password">A password the server requires (given on its stdin, not its command line), or null for none.</param>
    /// <param name="cancellationToken">Stops waiting for it.</param>
    public static async Task<RedisServer> StartAsync(int? port = null, string? password = null, CancellationToken cancellationToken = default)
    {
        await EnsureInstalledAsync();

        // A port picked here may be taken by someone else before the server binds it: try another then.
        for (int attempt = 1; ; attempt++)
        {
            var server = Launch(port ?? EphemeralPort(), password);
            try
            {
                await server.WaitReadyAsync(cancellationToken);
                return server;
            }
            catch (InvalidOperationException) when (port is null && attempt < 3 && server.Log.Contains("Address already in use", StringComparison.Ordinal))
            {
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>SIGTERM (as an operator stops it), then SIGKILL after <paramref name="grace"/>. Says what happened, in a line for a report.</summary>
    public async Task<string> StopOrKillAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return $"{Program} had already exited (code {_process.ExitCode})";
        }

        Signals.Terminate(Pid);
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return $"{Program} stopped on SIGTERM (code {_process.ExitCode})";
        }
        catch (OperationCanceledException)
        {
            await DisposeAsync();
            return $"{Program} did not stop within {grace.TotalSeconds:F0} s of SIGTERM: killed";
        }
    }

    /// <summary>The keys matching a glob <paramref name="pattern"/> (Redis <c>SCAN MATCH</c>).</summary>
    public async Task<IReadOnlyList<string>> KeysAsync(string pattern = "*", CancellationToken cancellationToken = default)
    {
        var keys = new List<string>();
        await foreach (var key in Connection.GetServer(ConnectionString).KeysAsync(pattern: pattern).WithCancellation(cancellationToken))
        {
            keys.Add(key.ToString());
        }

        return keys;
    }

    /// <summary>Deletes the keys matching <paramref name="pattern"/>; how many there were.</summary>
    public async Task<long> DeleteKeysAsync(string pattern, CancellationToken cancellationToken = default)
    {
        var keys = await KeysAsync(pattern, cancellationToken);
        return keys.Count == 0 ? 0 : await Connection.GetDatabase().KeyDeleteAsync([.. keys.Select(k => (RedisKey)k)]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_connection is not null)
        {
            await _connection.CloseAsync(allowCommandsToComplete: false);
            _connection.Dispose();
        }

        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private ConnectionMultiplexer Connection => _connection ?? throw new InvalidOperationException("the Redis server has not started");

    private static RedisServer Launch(int port, string? password)
    {
        string directory = Directory.CreateTempSubdirectory("jobs-redis-").FullName;
        var start = new ProcessStartInfo(Program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = directory,
        };
        // "-": the configuration file is stdin, which takes the password (if any) before the arguments apply.
        foreach (string arg in new[] { "-", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory })
        {
            start.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = start };
        var server = new RedisServer(process, port, directory) { Password = password };
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        try
        {
            process.Start();
            server.Pid = process.Id;
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            Directory.Delete(directory, recursive: true);
            throw new MissingProgramException(
                $"cannot start {Program} ({e.Message}): the cluster tests need a real Redis server on PATH; install the Debian package redis-server (apt-get install redis-server)");
        }

        if (password is not null)
        {
            process.StandardInput.Write($"requirepass \"{password}\"\n");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        var options = new ConfigurationOptions { EndPoints = { ConnectionString }, Password = Password, AbortOnConnectFail = true, ConnectTimeout = 1000, ConnectRetry = 1, AllowAdmin = true };
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(cancellationToken);
                throw new InvalidOperationException($"{Program} exited during start (code {_process.ExitCode}):\n{Log}");
            }

            try
            {
                var connection = await ConnectionMultiplexer.ConnectAsync(options);
                try
                {
                    await connection.GetDatabase().PingAsync();
                    _connection = connection;
                    return;
                }
                catch
                {
                    connection.Dispose();
                    throw;
                }
            }
            catch (RedisException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (RedisException e)
            {
                throw new InvalidOperationException($"{Program} did not answer PING on {ConnectionString} within {StartTimeout}:\n{Log}", e);
            }
        }
    }

    private static int EphemeralPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}
