using Google.Protobuf;
using Google.Protobuf.Reflection;
using Jobs.Protos;
using Jobs.TestSupport;

namespace Jobs.Bench.Floods;

/// <summary>
/// Malformed requests on every RPC of the service, round-robin, over HTTP/2 written by hand: random bytes,
/// truncated protobuf, a field that claims more bytes than the message has, a message over 4 MiB, and a
/// gRPC frame shorter than its header says. Each answer is counted by kind and status; none may be UNKNOWN.
/// </summary>
internal sealed class MalformedFlood(RawGrpc raw, int workers)
{
    // A message over the server's receive limit (4 MiB by default) costs the loopback 4 MiB: one in so many calls.
    private const int HugeEvery = 25;
    private const int HugeBytes = 4 * 1024 * 1024 + 64 * 1024;
    private static readonly string[] Kinds = ["random bytes", "truncated protobuf", "field longer than the message", "short gRPC frame"];
    private readonly IReadOnlyList<MethodDescriptor> _methods = [.. Protos.Jobs.Descriptor.Methods];
    private long _issued;

    /// <summary>Answers by kind of message and status, as "truncated protobuf: InvalidArgument".</summary>
    public Tally ByKind { get; } = new();

    /// <summary>Calls by RPC.</summary>
    public Tally ByMethod { get; } = new();

    public IEnumerable<string> Methods => _methods.Select(m => m.Name);

    public Task RunAsync(CancellationToken until, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(() => WorkAsync(worker, until, cancellationToken), cancellationToken)));

    private async Task WorkAsync(int worker, CancellationToken until, CancellationToken cancellationToken)
    {
        var random = new Random(worker);
        while (!until.IsCancellationRequested)
        {
            long call = Interlocked.Increment(ref _issued);
            var method = _methods[(int)(call % _methods.Count)];
            string kind = call % HugeEvery == 0 ? "message over 4 MiB" : Kinds[(int)(call / _methods.Count % Kinds.Length)];
            byte[] body = Body(kind, method.InputType, random);
            string outcome = await raw.CallAsync(method.Name, body, cancellationToken);
            ByKind.Add($"{kind}: {outcome}");
            ByMethod.Add(method.Name);
        }
    }

    private static byte[] Body(string kind, MessageDescriptor input, Random random)
    {
        byte[] valid = Sample(input).ToByteArray();
        switch (kind)
        {
            case "random bytes":
            {
                var bytes = new byte[random.Next(1, 1025)];
                random.NextBytes(bytes);
                return GrpcWire.Frame(bytes);
            }

            case "truncated protobuf":
            {
                // A valid message, then a length-delimited field of 100 bytes cut after a random share of
                // them: never a valid message, whatever the cut (a cut in the sample could leave one).
                var tail = new byte[100];
                random.NextBytes(tail);
                int kept = random.Next(0, tail.Length);
                return GrpcWire.Frame([.. valid, .. UnknownFieldHeader(tail.Length), .. tail.AsSpan(0, kept)]);
            }

            case "field longer than the message":
            {
                // The field claims 2^31 - 1 bytes; sixteen follow.
                byte[] claim = [0xC2, 0x3E, 0xFF, 0xFF, 0xFF, 0xFF, 0x07];
                var some = new byte[16];
                random.NextBytes(some);
                return GrpcWire.Frame([.. valid, .. claim, .. some]);
            }

            case "short gRPC frame":
            {
                // The header declares 1,000 more bytes than the request body carries before it ends.
                return GrpcWire.Frame(valid, declaredLength: (uint)valid.Length + 1000);
            }

            default:
            {
                // Well-formed protobuf (the sample and one unknown field), over the receive limit.
                var filler = new byte[HugeBytes];
                random.NextBytes(filler);
                return GrpcWire.Frame([.. valid, .. UnknownFieldHeader(filler.Length), .. filler]);
            }
        }
    }

    // Field 1000, wire type 2 (length-delimited), then the length as a varint: a field no Jobs message has.
    private static byte[] UnknownFieldHeader(int length)
    {
        var header = new List<byte> { 0xC2, 0x3E };
        uint value = (uint)length;
        while (value >= 0x80)
        {
            header.Add((byte)(value | 0x80));
            value >>= 7;
        }

        header.Add((byte)value);
        return [.. header];
    }

    // A plausible request: what a client would send, so that only the malformed part is wrong.
    private static IMessage Sample(MessageDescriptor input) => input.Name switch
    {
        nameof(RunRequest) => new RunRequest { Command = "/bin/true", Args = { "soak" }, RequestId = Guid.NewGuid().ToString() },
        nameof(LogsRequest) => new LogsRequest { JobId = Guid.NewGuid().ToString(), NoFollow = true },
        nameof(PsRequest) => new PsRequest { JobId = Guid.NewGuid().ToString() },
        nameof(WaitRequest) => new WaitRequest { JobId = Guid.NewGuid().ToString() },
        nameof(KillRequest) => new KillRequest { JobId = Guid.NewGuid().ToString() },
        nameof(RemoveRequest) => new RemoveRequest { JobId = Guid.NewGuid().ToString() },
        nameof(DrainRequest) => new DrainRequest { Node = "no-such-node" },
        _ => input.Parser.ParseFrom(ByteString.Empty),
    };
}
