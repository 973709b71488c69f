using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tests.Support;
using Xunit.Abstractions;

namespace Wirestack.Tests.Sockets;

/// <summary>
/// DESIGN.md "no allocation per call on the steady path", for the async surfaces. Everything runs on the simulator's
/// one thread (both stacks, the wire, the completions and both ends' continuations), so
/// GC.GetAllocatedBytesForCurrentThread sees every byte the operations, the stacks and the simulator allocate.
/// </summary>
public sealed class AsyncAllocationTests(ITestOutputHelper output)
{
    private const int Warmup = 500;
    private const int Rounds = 4000;
    private const int MessageSize = 64;

    [Fact]
    public void SendReceiveAsync_EchoPingPong_AllocatesNothingPerOperation()
    {
        long allocated = MeasureEcho(301, (socket, _) =>
        {
            byte[] message = new byte[MessageSize];
            byte[] buffer = new byte[MessageSize];
            return (rounds => PingPongAsync(socket, message, buffer, rounds), () => Task.CompletedTask);
        });

        // Each round is four async operations (send and receive on each side), all of which had to wait.
        output.WriteLine($"{allocated} B over {Rounds} round trips ({Rounds * 4} operations): {allocated / (Rounds * 4.0):0.###} B/op");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void NetStreamReadWriteAsync_EchoPingPong_AllocatesNothingPerOperation()
    {
        long allocated = MeasureEcho(302, (socket, _) =>
        {
            var stream = new NetStream(socket);
            byte[] message = new byte[MessageSize];
            byte[] buffer = new byte[MessageSize];
            return (rounds => StreamPingPongAsync(stream, message, buffer, rounds), () => stream.DisposeAsync().AsTask());
        });

        output.WriteLine($"{allocated} B over {Rounds} round trips: {allocated / (Rounds * 4.0):0.###} B/op");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void SocketDuplexPipe_EchoPingPong_AllocatesNothingPerRoundTrip()
    {
        // The pipe's continuations are scheduled through the simulator's context (SynchronizationContextPipeScheduler):
        // each used to allocate a 24 B closure.
        long allocated = MeasureEcho(303, (socket, _) =>
        {
            var pipe = new SocketDuplexPipe(socket, new SocketDuplexPipeOptions { ShutdownSendOnOutputComplete = false });
            byte[] message = new byte[MessageSize];
            return (rounds => PipePingPongAsync(pipe, message, rounds), () => pipe.DisposeAsync().AsTask());
        });

        output.WriteLine($"{allocated} B over {Rounds} round trips: {allocated / (double)Rounds:0.###} B per round trip");
        Assert.Equal(0, allocated);
    }

    /// <summary>A connected pair with an echo server on the peer; <paramref name="surface"/> builds the client's
    /// ping-pong (rounds → bytes allocated) and its clean-up. Returns the least of three readings after a warm-up: a
    /// collection started by another test's thread can add an allocation context (~8 KiB) to one reading; an
    /// allocation per operation would show in all three.</summary>
    private static long MeasureEcho(int seed, Func<NetSocket, NetSocket, (Func<int, Task<long>> PingPong, Func<Task> Dispose)> surface)
    {
        var (sim, client, server) = Net.TwoHosts(seed);
        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(4);
        return sim.Run(async () =>
        {
            using var socket = new NetSocket(client, SocketType.Stream);
            await socket.ConnectAsync(Net.ServerHttp);
            using NetSocket peer = await listener.AcceptAsync();
            Task echo = EchoAsync(peer);
            (Func<int, Task<long>> pingPong, Func<Task> dispose) = surface(socket, peer);
            await pingPong(Warmup);
            long allocated = long.MaxValue;
            for (int attempt = 0; attempt < 3 && allocated > 0; attempt++)
            {
                allocated = Math.Min(allocated, await pingPong(Rounds + 1));
            }

            socket.Shutdown(SocketShutdown.Send);
            await echo;
            await dispose();
            return allocated;
        }, TimeSpan.FromSeconds(600));
    }

    private static async Task<long> PipePingPongAsync(SocketDuplexPipe pipe, byte[] message, int rounds)
    {
        long before = 0;
        for (int i = 0; i < rounds; i++)
        {
            if (i == 1)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }

            await pipe.Output.WriteAsync(message);
            long got = 0;
            while (got < MessageSize)
            {
                System.IO.Pipelines.ReadResult result = await pipe.Input.ReadAsync();
                got += result.Buffer.Length;
                pipe.Input.AdvanceTo(result.Buffer.End);
            }
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>Round trips; returns the bytes allocated by all but the first (which boxes this method's own
    /// state machine, once).</summary>
    private static async Task<long> PingPongAsync(NetSocket socket, byte[] message, byte[] buffer, int rounds)
    {
        long before = 0;
        for (int i = 0; i < rounds; i++)
        {
            if (i == 1)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }

            await socket.SendAsync(message);
            int got = 0;
            while (got < MessageSize)
            {
                got += await socket.ReceiveAsync(buffer.AsMemory(got));
            }
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static async Task<long> StreamPingPongAsync(NetStream stream, byte[] message, byte[] buffer, int rounds)
    {
        long before = 0;
        for (int i = 0; i < rounds; i++)
        {
            if (i == 1)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }

            await stream.WriteAsync(message);
            int got = 0;
            while (got < MessageSize)
            {
                got += await stream.ReadAsync(buffer.AsMemory(got));
            }
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static async Task EchoAsync(NetSocket socket)
    {
        byte[] buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer)) > 0)
        {
            await socket.SendAsync(buffer.AsMemory(0, n));
        }
    }
}
