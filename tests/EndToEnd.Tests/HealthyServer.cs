using System.Globalization;
using Grpc.Core;
using Grpc.Health.V1;
using Jobs.Protos;
using Jobs.TestChild;
using Jobs.TestSupport;

namespace Jobs.EndToEnd.Tests;

/// <summary>What the flood and bad-input tests check of a server after the abuse: it answers as before, and its memory.</summary>
public static class HealthyServer
{
    /// <summary>The process's resident memory now (VmRSS), in bytes.</summary>
    public static long Rss(int pid) => Memory(pid).RssKiB * 1024;

    /// <summary>The most resident memory the process has had (VmHWM), in bytes.</summary>
    public static long PeakRss(int pid) => Memory(pid).HwmKiB * 1024;

    /// <summary>
    /// On a fresh connection: the health service says serving, and a job runs with its output
    /// delivered byte for byte by Logs.
    /// </summary>
    public static async Task AssertServesAsync(ServerProcess server)
    {
        Assert.False(server.HasExited, "the server exited:\n" + server.Log);
        var (client, channel) = GrpcClients.Create(server.Endpoint, GrpcClients.Client1);
        using (channel)
        {
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

            const int size = 100_000;
            var run = await client.RunAsync(Flood(size), deadline: DateTime.UtcNow.AddSeconds(30));
            var output = await ReadAllAsync(client, run.JobId, TimeSpan.FromSeconds(60));
            var expected = new byte[size];
            Pattern.Fill(0, expected);
            Assert.Equal(expected, output.Stdout);
            Assert.Equal(JobState.Exited, output.End.State);
        }
    }

    /// <summary>A run request for TestChild writing <paramref name="bytes"/> of <see cref="Pattern"/> to stdout.</summary>
    public static RunRequest Flood(long bytes, int writeSize = 64 * 1024) => new()
    {
        Command = TestChildProgram.Path,
        Args = { "flood", bytes.ToString(CultureInfo.InvariantCulture), writeSize.ToString(CultureInfo.InvariantCulture) },
    };

    /// <summary>Follows a job to its end: its whole stdout and its final status.</summary>
    public static async Task<(byte[] Stdout, Protos.JobStatus End)> ReadAllAsync(Protos.Jobs.JobsClient client, string jobId, TimeSpan timeout)
    {
        using var logs = client.Logs(new LogsRequest { JobId = jobId }, deadline: DateTime.UtcNow + timeout);
        using var stdout = new MemoryStream();
        Protos.JobStatus? end = null;
        await foreach (var item in logs.ResponseStream.ReadAllAsync())
        {
            switch (item.ItemCase)
            {
                case LogsResponse.ItemOneofCase.Chunk when item.Chunk.Stream == OutputStream.Stdout:
                    Assert.Equal(stdout.Length, item.Chunk.Offset);
                    item.Chunk.Data.WriteTo(stdout);
                    break;
                case LogsResponse.ItemOneofCase.End:
                    end = item.End;
                    break;
                case LogsResponse.ItemOneofCase.Dropped:
                    Assert.Fail($"output of job {jobId} was dropped at {item.Dropped}");
                    break;
            }
        }

        return (stdout.ToArray(), end ?? throw new InvalidOperationException($"the follow of job {jobId} ended without the job's end"));
    }

    private static (long RssKiB, long HwmKiB) Memory(int pid) =>
        Processes.Memory(pid) ?? throw new InvalidOperationException($"process {pid} is gone: it has no memory to read");
}
