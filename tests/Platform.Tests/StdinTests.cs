using System.Diagnostics;
using Jobs.Platform.Unix;
using Jobs.TestSupport;

namespace Jobs.Platform.Tests;

/// <summary>A child's stdin kept open (<see cref="ChildSpec.Stdin"/>): a socket the server writes through a bounded queue.</summary>
public sealed class StdinTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly UnixChildLauncher _launcher = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        using var cleanup = new CancellationTokenSource(Patience);
        await _launcher.KillAllAsync(cleanup.Token);
    }

    public void Dispose() => _launcher.Dispose();

    [Fact(Timeout = 120_000)]
    public async Task Stdin_reaches_cat_byte_exact_and_its_end_of_file_ends_cat()
    {
        byte[] data = RandomBytes(1024 * 1024);
        var child = await _launcher.StartAsync(new ChildSpec("/bin/cat", [], Stdin: true), CancellationToken.None);
        var output = DrainAsync(child);
        var clock = Stopwatch.StartNew();

        await WriteAllAsync(child.Input!, data, 64 * 1024);
        Assert.True(child.Input!.Complete());
        var (bytes, exit) = await output.WaitAsync(Patience);
        clock.Stop();

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(data.Length, bytes.Length);
        Assert.True(data.AsSpan().SequenceEqual(bytes), "cat's output differs from its input");
        Assert.True(child.Input.IsClosed);
        Assert.False(child.Input.TryWrite(new byte[] { 1 }));
        Console.WriteLine($"1 MiB through stdin and back: {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_child_that_does_not_read_makes_TryWrite_refuse_and_nothing_is_lost_once_it_reads()
    {
        byte[] data = RandomBytes(1024 * 1024);
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "sleep 4; exec cat"], Stdin: true), CancellationToken.None);
        var input = (SocketInput)child.Input!;
        var output = DrainAsync(child);
        long kernelBuffer = long.Parse(File.ReadAllText("/proc/sys/net/core/wmem_default").Trim());

        // Taken until the first refusal, while the child sleeps: the queue, then the kernel's buffer.
        int taken = 0;
        int mostWaiting = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (taken < data.Length && DateTime.UtcNow < deadline)
        {
            if (input.TryWrite(data.AsMemory(taken, 1024)))
            {
                taken += 1024;
            }
            else if (await Task.WhenAny(input.WaitToWriteAsync(CancellationToken.None).AsTask(), Task.Delay(200)) is Task<bool>)
            {
                // The pump moved bytes into the kernel's buffer: it still has room.
            }
            else
            {
                break;
            }

            mostWaiting = Math.Max(mostWaiting, input.Waiting);
        }

        bool refusedWhileAsleep = !output.IsCompleted && taken < data.Length;
        Assert.True(refusedWhileAsleep, $"{taken} bytes were taken from a child that does not read");
        Assert.True(taken <= IChildInput.BufferLimit + kernelBuffer, $"{taken} bytes were taken, more than {IChildInput.BufferLimit} + the kernel's {kernelBuffer}");
        Assert.True(taken >= IChildInput.BufferLimit, $"only {taken} bytes were taken before the first refusal");
        Assert.True(mostWaiting <= IChildInput.BufferLimit, $"{mostWaiting} bytes waited in the queue");
        Console.WriteLine($"taken before the first refusal: {taken} bytes (queue {IChildInput.BufferLimit}, kernel buffer {kernelBuffer})");

        await WriteAllAsync(input, data.AsMemory(taken), 1024, () => mostWaiting = Math.Max(mostWaiting, input.Waiting));
        Assert.True(input.Complete());
        var (bytes, exit) = await output.WaitAsync(Patience);

        Assert.Equal(0, exit.ExitCode);
        Assert.True(data.AsSpan().SequenceEqual(bytes), $"{bytes.Length} bytes came back of {data.Length}, or others");
        Assert.True(mostWaiting <= IChildInput.BufferLimit, $"{mostWaiting} bytes waited in the queue");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_full_queue_refuses_a_piece_whole_and_takes_it_once_it_fits()
    {
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "sleep 6; exec cat >/dev/null"], Stdin: true), CancellationToken.None);
        var input = (SocketInput)child.Input!;
        try
        {
            // Fill the kernel's buffer and the queue with pieces that do not fit the rest exactly.
            byte[] piece = RandomBytes(40 * 1024);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (DateTime.UtcNow < deadline && (input.TryWrite(piece) || await Task.WhenAny(input.WaitToWriteAsync(CancellationToken.None).AsTask(), Task.Delay(300)) is Task<bool>))
            {
            }

            int waiting = input.Waiting;
            Assert.InRange(waiting, IChildInput.BufferLimit - piece.Length + 1, IChildInput.BufferLimit);
            Assert.True(input.TryWrite(new byte[] { 7 }) || waiting == IChildInput.BufferLimit, "a byte that fits was refused");
            Assert.False(input.TryWrite(piece));
            Assert.Equal(waiting + 1, input.Waiting);

            // Woken only once the refused piece fits, not at the first byte the child reads.
            var room = input.WaitToWriteAsync(CancellationToken.None).AsTask();
            Assert.False(await Task.WhenAny(room, Task.Delay(500)) == room, "WaitToWriteAsync said there is room while the child reads nothing");
            Assert.True(await room.WaitAsync(Patience));
            Assert.True(input.TryWrite(piece), "the piece did not fit when WaitToWriteAsync said it would");
        }
        finally
        {
            await child.KillAsync(CancellationToken.None);
        }

        Assert.True(input.IsClosed);
        Assert.False(await input.WaitToWriteAsync(CancellationToken.None));
    }

    [Fact(Timeout = 60_000)]
    public async Task Input_closes_when_the_child_closes_its_stdin()
    {
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "exec 0<&-; sleep 600"], Stdin: true), CancellationToken.None);
        try
        {
            var input = child.Input!;
            await Task.Delay(500);

            // Written bytes meet a socket nobody can read (EPIPE): the input closes, nothing throws.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!input.IsClosed && DateTime.UtcNow < deadline)
            {
                input.TryWrite(new byte[] { 1, 2, 3 });
                await Task.Delay(50);
            }

            Assert.True(input.IsClosed, "the input stayed open after the child closed its stdin");
            Assert.False(await input.WaitToWriteAsync(CancellationToken.None));
            Assert.False(input.Complete());
            Assert.True(Processes.IsAlive(child.Pid), "the child ended: the test proves nothing");
        }
        finally
        {
            await child.KillAsync(CancellationToken.None);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Input_closes_when_the_child_ends_and_a_waiter_is_told()
    {
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "sleep 600"], Stdin: true), CancellationToken.None);
        var input = child.Input!;
        Assert.False(input.IsTerminal);
        Assert.False(input.Resize(new TerminalSize(24, 80)));
        while (input.TryWrite(new byte[16 * 1024]) || await Task.WhenAny(input.WaitToWriteAsync(CancellationToken.None).AsTask(), Task.Delay(300)) is Task<bool>)
        {
        }

        var waiter = input.WaitToWriteAsync(CancellationToken.None).AsTask();
        await child.KillAsync(CancellationToken.None);

        Assert.False(await waiter.WaitAsync(Patience));
        Assert.True(input.IsClosed);
        Assert.False(input.TryWrite(new byte[] { 1 }));
    }

    [Fact(Timeout = 60_000)]
    public async Task Stdin_reaches_an_isolated_job()
    {
        var child = await _launcher.StartAsync(new ChildSpec("sort", [], Stdin: true, Isolate: true), CancellationToken.None);
        var output = DrainAsync(child);

        Assert.True(child.Input!.TryWrite("b\na\n"u8.ToArray()));
        Assert.True(child.Input.Complete());
        var (bytes, exit) = await output.WaitAsync(Patience);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("a\nb\n", System.Text.Encoding.UTF8.GetString(bytes));
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_Stdin_the_child_reads_dev_null_and_has_no_input()
    {
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "readlink /proc/self/fd/0"]), CancellationToken.None);

        var (bytes, exit) = await DrainAsync(child).WaitAsync(Patience);

        Assert.Null(child.Input);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("/dev/null\n", System.Text.Encoding.UTF8.GetString(bytes));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_byte_comes_back_from_cat_through_stdin_within_milliseconds()
    {
        var child = await _launcher.StartAsync(new ChildSpec("sh", ["-c", "echo ready; exec cat"], Stdin: true), CancellationToken.None);
        try
        {
            var (median, p99) = await TerminalTests.RoundTripsAsync(child, "ready\n", 500);

            Console.WriteLine($"one byte through stdin, cat and stdout: median {median.TotalMilliseconds:0.000} ms, p99 {p99.TotalMilliseconds:0.000} ms");
            Assert.True(median < TimeSpan.FromMilliseconds(20), $"median {median.TotalMilliseconds} ms");
            Assert.True(p99 < TimeSpan.FromMilliseconds(200), $"p99 {p99.TotalMilliseconds} ms");
        }
        finally
        {
            await child.KillAsync(CancellationToken.None);
        }
    }

    internal static async Task WriteAllAsync(IChildInput input, ReadOnlyMemory<byte> data, int pieceSize, Action? afterEach = null)
    {
        using var timeout = new CancellationTokenSource(Patience);
        for (int at = 0; at < data.Length;)
        {
            var piece = data.Slice(at, Math.Min(pieceSize, data.Length - at));
            if (input.TryWrite(piece))
            {
                at += piece.Length;
                afterEach?.Invoke();
            }
            else
            {
                Assert.True(await input.WaitToWriteAsync(timeout.Token), $"the input closed after {at} bytes");
            }
        }
    }

    internal static async Task<(byte[] Bytes, ChildExit Exit)> DrainAsync(IChild child)
    {
        await Task.Yield();
        var bytes = new List<byte>();
        await foreach (var output in child.Output.ReadAllAsync())
        {
            bytes.AddRange(output.Data);
        }

        return ([.. bytes], await child.Exited);
    }

    internal static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(count).NextBytes(bytes);
        return bytes;
    }
}
