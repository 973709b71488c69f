using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tests.Support;
using Xunit.Abstractions;

namespace Wirestack.Tests.Sockets;

/// <summary>
/// DESIGN.md "no allocation per call on the steady path", for the synchronous socket calls: a warm bulk transfer
/// through non-blocking Send/Receive (both stacks, the wire and the simulator on this one thread) allocates nothing,
/// and neither does a call that would block.
/// </summary>
public sealed class SocketCallAllocationTests(ITestOutputHelper output)
{
    private const int Chunk = 16 * 1024;

    [Fact]
    public void NonBlocking_bulk_transfer_allocates_nothing_per_segment_or_call()
    {
        using Connection c = Connected(311);
        var (sim, clientStack, client, server) = (c.Sim, c.ClientStack, c.Client, c.Server);
        client.Blocking = false;
        server.Blocking = false;
        // Fixed 256 KiB buffers bound the window, so the warm-up reaches the transfer's working size: with autotuned
        // buffers the congestion window keeps growing to new peaks (until the receiver's ring overflows), and each
        // new peak legitimately grows the packet pool, which is not allocation per segment or call.
        client.Connection!.SetBufferSizesUnclamped(256 << 10, 256 << 10);
        server.Connection!.SetBufferSizesUnclamped(256 << 10, 256 << 10);
        byte[] data = new byte[Chunk];
        byte[] sink = new byte[Chunk];

        Transfer(sim, client, server, data, sink, 64 << 20); // warm-up: pools and queues at their working size
        long segmentsBefore = clientStack.Counters.Tcp.OutSegs;
        long calls = 0, moved = 0;
        long allocated = Allocation.Least(() => (calls, moved) = Transfer(sim, client, server, data, sink, 16 << 20));
        long segments = clientStack.Counters.Tcp.OutSegs - segmentsBefore;

        output.WriteLine($"{allocated} B over {moved:N0} bytes of the last measured transfer, {segments:N0} segments, {calls:N0} socket calls");
        Assert.True(segments > 1000, $"only {segments} segments");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Calls_that_would_block_allocate_nothing()
    {
        using Connection c = Connected(312);
        var (listener, server) = (c.Listener, c.Server);
        server.Blocking = false;
        listener.Blocking = false;
        byte[] buffer = new byte[64];
        server.Receive(buffer, out _);
        listener.Accept(out _);

        int unexpected = 0;
        long allocated = Allocation.Least(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                server.Receive(buffer, out SocketError error);
                unexpected += error == SocketError.WouldBlock ? 0 : 1;
                unexpected += listener.Accept(out error) is null && error == SocketError.WouldBlock ? 0 : 1;
            }
        });

        Assert.Equal(0, unexpected);
        Assert.Equal(0, allocated);
    }

    /// <summary>Two simulated hosts with one established connection: the listener and both ends.</summary>
    private sealed record Connection(Wirestack.Simulation.Simulator Sim, Wirestack.Stack.NetStack ClientStack, NetSocket Listener,
        NetSocket Client, NetSocket Server) : IDisposable
    {
        public void Dispose()
        {
            Server.Dispose();
            Client.Dispose();
            Listener.Dispose();
        }
    }

    private static Connection Connected(int seed)
    {
        var (sim, clientStack, serverStack) = Net.TwoHosts(seed);
        var listener = new NetSocket(serverStack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(4);
        var client = new NetSocket(clientStack, SocketType.Stream);
        client.Connect(Net.ServerHttp);
        return new Connection(sim, clientStack, listener, client, listener.Accept());
    }

    /// <summary>Moves <paramref name="bytes"/> from sender to receiver; no asserts inside (xUnit's allocate).</summary>
    private static (long Calls, long Moved) Transfer(Wirestack.Simulation.Simulator sim, NetSocket sender, NetSocket receiver, byte[] data,
        byte[] sink, long bytes)
    {
        long sent = 0, received = 0, calls = 0;
        while (received < bytes)
        {
            while (sent < bytes)
            {
                calls++;
                int n = sender.Send(data.AsSpan(0, (int)Math.Min(data.Length, bytes - sent)), out SocketError error);
                if (error == SocketError.WouldBlock || n == 0)
                {
                    break;
                }

                if (error != SocketError.Success)
                {
                    throw new InvalidOperationException($"send failed: {error}");
                }

                sent += n;
            }

            sim.Step();
            while (true)
            {
                calls++;
                int n = receiver.Receive(sink, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    break;
                }

                if (error != SocketError.Success || n == 0)
                {
                    throw new InvalidOperationException($"receive failed: {error}, {n} bytes");
                }

                received += n;
            }
        }

        return (calls, received);
    }
}
