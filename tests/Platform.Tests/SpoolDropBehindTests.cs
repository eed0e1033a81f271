using System.Runtime.InteropServices;
using Jobs.Platform.Storage;

namespace Jobs.Platform.Tests;

/// <summary>A spool's full segments go to disk and leave the page cache behind the writer (Linux).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class SpoolDropBehindTests : IDisposable
{
    private const int Segment = (int)SpoolFile.DropBehindSegmentSize;
    // Beside the test's build, on a disk: /tmp may be a tmpfs, whose pages are the files themselves.
    private readonly string _scratch = Path.Combine(AppContext.BaseDirectory, $"spool-drop-{Guid.NewGuid():N}");

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact(Timeout = 20_000)]
    public async Task Segments_older_than_the_one_before_the_newest_leave_the_page_cache()
    {
        await Task.Yield();
        string folder = Path.Combine(_scratch, "large");
        using var spool = new SpoolFile(folder, Segment);
        var data = new byte[64 * 1024];
        Random.Shared.NextBytes(data);
        for (int i = 0; i < 3 * Segment / data.Length; i++)
        {
            spool.Append(data);
        }

        // Written back first: the kernel keeps pages that are dirty or under writeback.
        SyncAll(folder);
        spool.Append(data);

        var segments = Directory.GetFiles(folder).Order().ToArray();
        Assert.Equal(4, segments.Length);
        Assert.Equal(0, ResidentPages(segments[0]));
        Assert.Equal(0, ResidentPages(segments[1]));
        Assert.Equal(Segment / Environment.SystemPageSize, ResidentPages(segments[2]));

        // What was dropped reads back whole, from the disk.
        var back = new byte[data.Length];
        Assert.Equal(back.Length, spool.Read(Segment, back));
        Assert.Equal(data, back);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_spool_of_small_segments_keeps_its_cache()
    {
        // Below the drop's segment size nothing is dropped: and the residency check sees cached pages.
        await Task.Yield();
        string folder = Path.Combine(_scratch, "small");
        int small = Segment / 4;
        using var spool = new SpoolFile(folder, small);
        var data = new byte[64 * 1024];
        for (int i = 0; i < 4 * small / data.Length; i++)
        {
            spool.Append(data);
        }

        SyncAll(folder);
        spool.Append(data);

        var first = Directory.GetFiles(folder).Order().First();
        Assert.Equal(small / Environment.SystemPageSize, ResidentPages(first));
    }

    private static void SyncAll(string folder)
    {
        foreach (string file in Directory.GetFiles(folder))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            stream.Flush(flushToDisk: true);
        }
    }

    // Pages of the file in the page cache, by mincore over a read-only mapping (touches none).
    private static int ResidentPages(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long length = stream.Length;
        int fd = (int)stream.SafeFileHandle.DangerousGetHandle();
        nint map = mmap(0, (nuint)length, ProtRead, MapShared, fd, 0);
        Assert.NotEqual(-1, map);
        try
        {
            var vector = new byte[(length + Environment.SystemPageSize - 1) / Environment.SystemPageSize];
            Assert.Equal(0, mincore(map, (nuint)length, vector));
            return vector.Count(v => (v & 1) != 0);
        }
        finally
        {
            munmap(map, (nuint)length);
        }
    }

    private const int ProtRead = 1;
    private const int MapShared = 1;

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint address, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mincore(nint address, nuint length, [Out] byte[] vector);
}
