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
        var (sim, client, server) = Net.TwoHosts(301);
        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(4);
        long allocated = sim.Run(async () =>
        {
            using var socket = new NetSocket(client, SocketType.Stream);
            await socket.ConnectAsync(Net.ServerHttp);
            using NetSocket peer = await listener.AcceptAsync();
            Task echo = EchoAsync(peer);
            byte[] message = new byte[MessageSize];
            byte[] buffer = new byte[MessageSize];
            await PingPongAsync(socket, message, buffer, Warmup);
            // The least of three measurements: a collection started by another test's thread can add an allocation
            // context (~8 KiB) to one reading; an allocation per operation would show in all three.
            long allocated = long.MaxValue;
            for (int attempt = 0; attempt < 3 && allocated > 0; attempt++)
            {
                allocated = Math.Min(allocated, await PingPongAsync(socket, message, buffer, Rounds + 1));
            }

            socket.Shutdown(SocketShutdown.Send);
            await echo;
            return allocated;
        }, TimeSpan.FromSeconds(600));

        // Each round is four async operations (send and receive on each side), all of which had to wait.
        double perOperation = allocated / (Rounds * 4.0);
        output.WriteLine($"{allocated} B over {Rounds} round trips ({Rounds * 4} operations): {perOperation:0.###} B/op");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void NetStreamReadWriteAsync_EchoPingPong_AllocatesNothingPerOperation()
    {
        var (sim, client, server) = Net.TwoHosts(302);
        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(4);
        long allocated = sim.Run(async () =>
        {
            using var socket = new NetSocket(client, SocketType.Stream);
            await socket.ConnectAsync(Net.ServerHttp);
            using NetSocket peer = await listener.AcceptAsync();
            await using var stream = new NetStream(socket);
            Task echo = EchoAsync(peer);
            byte[] message = new byte[MessageSize];
            byte[] buffer = new byte[MessageSize];
            await StreamPingPongAsync(stream, message, buffer, Warmup);
            long allocated = long.MaxValue;
            for (int attempt = 0; attempt < 3 && allocated > 0; attempt++)
            {
                allocated = Math.Min(allocated, await StreamPingPongAsync(stream, message, buffer, Rounds + 1));
            }

            socket.Shutdown(SocketShutdown.Send);
            await echo;
            return allocated;
        }, TimeSpan.FromSeconds(600));

        output.WriteLine($"{allocated} B over {Rounds} round trips: {allocated / (Rounds * 4.0):0.###} B/op");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void SocketDuplexPipe_EchoPingPong_AllocatesNothingPerRoundTrip()
    {
        // The pipe's continuations are scheduled through the simulator's context (SynchronizationContextPipeScheduler):
        // each used to allocate a 24 B closure.
        var (sim, client, server) = Net.TwoHosts(303);
        using var listener = new NetSocket(server, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(4);
        long allocated = sim.Run(async () =>
        {
            using var socket = new NetSocket(client, SocketType.Stream);
            await socket.ConnectAsync(Net.ServerHttp);
            using NetSocket peer = await listener.AcceptAsync();
            var pipe = new SocketDuplexPipe(socket);
            Task echo = EchoAsync(peer);
            byte[] message = new byte[MessageSize];
            await PipePingPongAsync(pipe, message, Warmup);
            long allocated = long.MaxValue;
            for (int attempt = 0; attempt < 3 && allocated > 0; attempt++)
            {
                allocated = Math.Min(allocated, await PipePingPongAsync(pipe, message, Rounds + 1));
            }

            await pipe.Output.CompleteAsync();
            await echo;
            await pipe.DisposeAsync();
            return allocated;
        }, TimeSpan.FromSeconds(600));

        output.WriteLine($"{allocated} B over {Rounds} round trips: {allocated / (double)Rounds:0.###} B per round trip");
        Assert.Equal(0, allocated);
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
