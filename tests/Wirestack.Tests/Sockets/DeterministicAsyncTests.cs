using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;

namespace Wirestack.Tests.Sockets;

/// <summary>
/// Async user code under the simulator is deterministic: completions are posted to the simulator's context and
/// continuations run there in order, so the same seed gives the same packets at the same virtual instants, byte for
/// byte in the capture.
/// </summary>
public sealed class DeterministicAsyncTests
{
    [Fact]
    public void AsyncScenario_SameSeed_ByteIdenticalCapture()
    {
        byte[] first = RunScenario(401);
        byte[] second = RunScenario(401);
        Assert.True(first.Length > 100_000, $"capture too small: {first.Length} B");
        Assert.Equal(SHA256.HashData(first), SHA256.HashData(second));
        Assert.Equal(first, second);
    }

    [Fact]
    public void AsyncScenario_OtherSeed_DifferentCapture()
    {
        Assert.NotEqual(SHA256.HashData(RunScenario(401)), SHA256.HashData(RunScenario(402)));
    }

    /// <summary>Three concurrent connections over a lossy, reordering, jittery wire: one on the ValueTask API, one
    /// through NetStream, one through SocketDuplexPipe; each uploads, the server echoes a digest and a reply.</summary>
    private static byte[] RunScenario(int seed)
    {
        var output = new MemoryStream();
        using (var sim = new Simulator(seed))
        {
            NetStack client = sim.AddHost("client");
            NetStack server = sim.AddHost("server");
            var impairments = new LinkImpairments
            {
                Delay = TimeSpan.FromMilliseconds(5), Jitter = TimeSpan.FromMilliseconds(2), Loss = 0.01, Reorder = 0.02,
            };
            sim.Connect(client, "10.0.0.1/24", server, "10.0.0.2/24", impairments);
            sim.CaptureAll(output);
            var endpoint = new IPEndPoint(IPAddress.Parse("10.0.0.2"), 443);
            using var listener = new NetSocket(server, SocketType.Stream);
            listener.Bind(new IPEndPoint(IPAddress.Any, 443));
            listener.Listen(8);
            sim.Run(async () =>
            {
                Task serving = ServeAsync(listener, 3);
                byte[][] digests = await Task.WhenAll(
                    ClientSocketAsync(client, endpoint, 200_000, seed),
                    ClientStreamAsync(client, endpoint, 150_000, seed + 1),
                    ClientPipeAsync(client, endpoint, 100_000, seed + 2));
                await serving;
                Assert.All(digests, d => Assert.Equal(32, d.Length));
            }, TimeSpan.FromSeconds(600));
        }

        return output.ToArray();
    }

    private static async Task ServeAsync(NetSocket listener, int connections)
    {
        var handlers = new List<Task>();
        for (int i = 0; i < connections; i++)
        {
            NetSocket accepted = await listener.AcceptAsync();
            handlers.Add(HandleAsync(accepted));
        }

        await Task.WhenAll(handlers);
    }

    /// <summary>Reads a 4-byte length and that many bytes, answers with their SHA-256 and 20 KB, then closes.</summary>
    private static async Task HandleAsync(NetSocket socket)
    {
        using (socket)
        {
            byte[] header = await Peer.ReceiveExactlyAsync(socket, 4);
            int length = BitConverter.ToInt32(header);
            byte[] body = await Peer.ReceiveExactlyAsync(socket, length);
            await socket.SendAsync(SHA256.HashData(body));
            await socket.SendAsync(new byte[20_000]);
            socket.Shutdown(SocketShutdown.Send);
            Assert.Equal(0, await socket.ReceiveAsync(new byte[1]));
        }
    }

    private static byte[] Payload(int length, int seed)
    {
        byte[] data = new byte[4 + length];
        BitConverter.TryWriteBytes(data, length);
        new Random(seed).NextBytes(data.AsSpan(4));
        return data;
    }

    private static async Task<byte[]> ClientSocketAsync(NetStack stack, IPEndPoint endpoint, int length, int seed)
    {
        using var socket = new NetSocket(stack, SocketType.Stream);
        await socket.ConnectAsync(endpoint);
        byte[] payload = Payload(length, seed);
        await socket.SendAsync(payload);
        byte[] reply = await Peer.ReceiveExactlyAsync(socket, 32 + 20_000);
        Assert.Equal(0, await socket.ReceiveAsync(new byte[1]));
        Assert.Equal(SHA256.HashData(payload.AsSpan(4)), reply[..32]);
        return reply[..32];
    }

    private static async Task<byte[]> ClientStreamAsync(NetStack stack, IPEndPoint endpoint, int length, int seed)
    {
        var socket = new NetSocket(stack, SocketType.Stream);
        await socket.ConnectAsync(endpoint);
        await using var stream = new NetStream(socket, ownsSocket: true);
        byte[] payload = Payload(length, seed);
        await stream.WriteAsync(payload);
        var reply = new MemoryStream();
        await stream.CopyToAsync(reply);
        Assert.Equal(32 + 20_000, reply.Length);
        Assert.Equal(SHA256.HashData(payload.AsSpan(4)), reply.ToArray()[..32]);
        return reply.ToArray()[..32];
    }

    private static async Task<byte[]> ClientPipeAsync(NetStack stack, IPEndPoint endpoint, int length, int seed)
    {
        var socket = new NetSocket(stack, SocketType.Stream);
        await socket.ConnectAsync(endpoint);
        await using var pipe = new SocketDuplexPipe(socket);
        byte[] payload = Payload(length, seed);
        await pipe.Output.WriteAsync(payload);
        var reply = new MemoryStream();
        while (true)
        {
            ReadResult result = await pipe.Input.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                reply.Write(segment.Span);
            }

            pipe.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal(32 + 20_000, reply.Length);
        Assert.Equal(SHA256.HashData(payload.AsSpan(4)), reply.ToArray()[..32]);
        return reply.ToArray()[..32];
    }
}
