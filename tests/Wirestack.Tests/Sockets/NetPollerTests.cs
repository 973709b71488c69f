using System.Net;
using System.Net.Sockets;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.Sockets;

/// <summary>The epoll-like poller and the select helper, in virtual time (Wait runs the simulation forward).</summary>
public sealed class NetPollerTests
{
    private static readonly IPv4Address s_server = IPv4Address.Parse("10.0.0.2");

    [Fact]
    [Trait("Seed", "003")]
    public void NonBlockingConnect_Succeeds_ReportsWritableOnceWithoutError()
    {
        var (sim, client, server) = Net.TwoHosts(201);
        using NetSocket listener = Listen(server, 80);
        using var socket = new NetSocket(client, SocketType.Stream) { Blocking = false };
        Assert.Equal(SocketError.InProgress, socket.Connect(s_server, 80));
        using var poller = new NetPoller(client);
        poller.Register(socket, SocketReadiness.Writable, PollFlags.EdgeTriggered, "conn");
        var events = new PollEvent[4];

        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(5)));
        Assert.Equal(SocketReadiness.Writable, events[0].Events);
        Assert.Equal("conn", events[0].UserData);
        Assert.Equal(TimeSpan.FromMilliseconds(2), sim.Now - Instant.Zero); // one round trip of 1 ms each way
        Assert.Equal(SocketError.Success, socket.GetPendingError());
        Assert.Equal(0, poller.Wait(events, TimeSpan.Zero)); // edge-triggered: reported once
    }

    [Fact]
    [Trait("Seed", "003")]
    public void NonBlockingConnect_Refused_ReportsWritableErrorHangUpAndSoError()
    {
        var (_, client, _) = Net.TwoHosts(202);
        using var socket = new NetSocket(client, SocketType.Stream) { Blocking = false };
        Assert.Equal(SocketError.InProgress, socket.Connect(s_server, 81));
        using var poller = new NetPoller(client);
        poller.Register(socket, SocketReadiness.Writable);
        var events = new PollEvent[4];

        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(5)));
        Assert.Equal(SocketReadiness.Writable | SocketReadiness.Error | SocketReadiness.HangUp, events[0].Events & ~SocketReadiness.Readable);
        Assert.Equal(SocketError.ConnectionRefused, socket.GetPendingError());
    }

    [Fact]
    [Trait("Seed", "003")]
    public void NonBlockingConnect_SilentHost_ReportsErrorWhenSynRetriesRunOut()
    {
        var (sim, client, server) = Net.TwoHosts(203);
        server.Ip.Routes.Clear(); // a black hole: no SYN-ACK, no RST
        using var socket = new NetSocket(client, SocketType.Stream) { Blocking = false };
        socket.Connection!.SynCount = 2;
        Assert.Equal(SocketError.InProgress, socket.Connect(s_server, 80));
        using var poller = new NetPoller(client);
        poller.Register(socket, SocketReadiness.Writable, PollFlags.EdgeTriggered);
        var events = new PollEvent[4];

        Assert.Equal(0, poller.Wait(events, TimeSpan.FromSeconds(5))); // still trying at 5 s
        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(60)));
        Assert.Equal(7.0, Math.Round(sim.Now.TotalSeconds, 3)); // SYNs at 0, 1, 3; gives up at 7
        Assert.True((events[0].Events & SocketReadiness.Error) != 0);
        Assert.Equal(SocketError.TimedOut, socket.GetPendingError());
    }

    [Fact]
    public void Wait_NothingReady_ReturnsZeroAfterExactlyTheTimeout()
    {
        var (sim, client, server) = Net.TwoHosts(204);
        using NetSocket listener = Listen(server, 80);
        using var poller = new NetPoller(server);
        poller.Register(listener, SocketReadiness.Readable);
        Instant start = sim.Now;
        Assert.Equal(0, poller.Wait(new PollEvent[1], TimeSpan.FromSeconds(3)));
        Assert.Equal(TimeSpan.FromSeconds(3), sim.Now - start);
    }

    [Fact]
    public void Listener_PendingConnection_IsReadable()
    {
        var (_, client, server) = Net.TwoHosts(205);
        using NetSocket listener = Listen(server, 80);
        using var poller = new NetPoller(server);
        poller.Register(listener, SocketReadiness.Readable);
        using var socket = new NetSocket(client, SocketType.Stream) { Blocking = false };
        socket.Connect(s_server, 80);
        var events = new PollEvent[1];
        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(1)));
        Assert.Same(listener, events[0].Socket);
        Assert.Equal(SocketReadiness.Readable, events[0].Events);
    }

    [Fact]
    public void LevelTriggered_ReportsOnEveryWaitUntilDrained()
    {
        var (sim, socket, peer, poller) = Connected(206);
        poller.Register(socket, SocketReadiness.Readable);
        peer.Send(new byte[100]);
        var events = new PollEvent[2];
        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(1)));
        Assert.Equal(1, poller.Wait(events, TimeSpan.Zero)); // still readable: reported again
        Assert.Equal(60, socket.Receive(new byte[60]));
        Assert.Equal(1, poller.Wait(events, TimeSpan.Zero));
        Assert.Equal(40, socket.Receive(new byte[60]));
        Assert.Equal(0, poller.Wait(events, TimeSpan.Zero)); // drained
        sim.RunFor(TimeSpan.FromMilliseconds(10));
    }

    [Fact]
    public void EdgeTriggered_ReportsOncePerArrival()
    {
        var (_, socket, peer, poller) = Connected(207);
        poller.Register(socket, SocketReadiness.Readable, PollFlags.EdgeTriggered);
        var events = new PollEvent[2];
        peer.Send(new byte[100]);
        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(1)));
        Assert.Equal(0, poller.Wait(events, TimeSpan.Zero)); // not drained, but no new edge
        peer.Send(new byte[10]);
        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(1))); // new data: a new edge
        Assert.Equal(110, socket.Receive(new byte[200]));
    }

    [Fact]
    public void OneShot_ReportsOnceUntilModifyRearmsIt()
    {
        var (_, socket, peer, poller) = Connected(208);
        poller.Register(socket, SocketReadiness.Readable, PollFlags.OneShot);
        var events = new PollEvent[2];
        peer.Send(new byte[10]);
        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(1)));
        peer.Send(new byte[10]);
        Assert.Equal(0, poller.Wait(events, TimeSpan.FromMilliseconds(100)));
        poller.Modify(socket, SocketReadiness.Readable, PollFlags.OneShot);
        Assert.Equal(1, poller.Wait(events, TimeSpan.Zero)); // MOD checks readiness at once, as EPOLL_CTL_MOD does
    }

    [Fact]
    public void PeerFin_ReportsReadableAndReadHangUp_RemoveStopsReports()
    {
        var (_, socket, peer, poller) = Connected(209);
        poller.Register(socket, SocketReadiness.Readable | SocketReadiness.ReadHangUp);
        peer.Shutdown(SocketShutdown.Send);
        var events = new PollEvent[2];
        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(1)));
        Assert.Equal(SocketReadiness.Readable | SocketReadiness.ReadHangUp, events[0].Events);
        Assert.True(poller.Remove(socket));
        Assert.False(poller.Remove(socket));
        Assert.Equal(0, poller.Wait(events, TimeSpan.Zero));
    }

    [Fact]
    public void Register_Twice_IsEexist_ModifyUnknown_IsEnoent()
    {
        var (_, socket, _, poller) = Connected(210);
        poller.Register(socket, SocketReadiness.Readable);
        Assert.Throws<InvalidOperationException>(() => poller.Register(socket, SocketReadiness.Readable));
        Assert.True(poller.Remove(socket));
        Assert.Throws<InvalidOperationException>(() => poller.Modify(socket, SocketReadiness.Readable));
    }

    [Fact]
    public void Interrupt_EndsAWaitWithNoEvents()
    {
        var (sim, socket, _, poller) = Connected(211);
        poller.Register(socket, SocketReadiness.Readable);
        sim.Post(poller.Interrupt);
        Instant start = sim.Now;
        Assert.Equal(0, poller.Wait(new PollEvent[1], TimeSpan.FromSeconds(30)));
        Assert.True(sim.Now - start < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Select_KeepsOnlyReadySockets()
    {
        var (sim, client, server) = Net.TwoHosts(212);
        using NetSocket listener = Listen(server, 80);
        using var a = new NetSocket(client, SocketType.Stream);
        using var b = new NetSocket(client, SocketType.Stream);
        a.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 80));
        b.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 80));
        using NetSocket serverA = listener.Accept();
        serverA.Send("x"u8);
        sim.RunFor(TimeSpan.FromMilliseconds(10));

        var read = new List<NetSocket> { a, b };
        var write = new List<NetSocket> { a, b };
        Assert.Equal(3, NetPoller.Select(read, write, null, TimeSpan.FromSeconds(1)));
        Assert.Equal([a], read);
        Assert.Equal([a, b], write);

        var idle = new List<NetSocket> { b }; // nothing to read on b
        Instant start = sim.Now;
        Assert.Equal(0, NetPoller.Select(idle, null, null, TimeSpan.FromMilliseconds(500)));
        Assert.Empty(idle);
        Assert.Equal(TimeSpan.FromMilliseconds(500), sim.Now - start);
    }

    [Fact]
    public void FullSendBuffer_WakesTheWriterOnlyOnceAThirdIsFree_NotForEveryAck()
    {
        // Linux's tcp_check_space → sk_stream_write_space: ACKs that free a little of a full send buffer do not
        // wake the writer; the ACK that leaves a third of it free does.
        var (sim, socket, peer, poller) = Connected(206);
        using (poller)
        using (socket)
        using (peer)
        {
            Assert.Equal(SocketError.Success, socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.SendBuffer, 256 * 1024)); // many ACKs to drain it
            var chunk = new byte[16384];
            long sent = 0;
            while (true)
            {
                int n = socket.Send(chunk, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    break;
                }

                Assert.Equal(SocketError.Success, error);
                sent += n;
            }

            int limit = socket.Connection!.SendSpace + socket.Connection.SendQueued; // the usable buffer
            var wakes = new List<(int Space, SocketReadiness Readiness)>();
            socket.ReadinessChanged += s => wakes.Add((s.Connection!.SendSpace, s.Readiness));
            long acksBefore = socket.Connection.Layer.Counters.InSegs;

            var buffer = new byte[65536];
            long received = 0;
            while (received < sent)
            {
                received += peer.Receive(buffer); // blocking: runs the simulation forward
            }

            sim.RunUntil(() => socket.Connection.SendQueued == 0, TimeSpan.FromSeconds(10));
            long acks = socket.Connection.Layer.Counters.InSegs - acksBefore;

            Assert.NotEmpty(wakes);
            Assert.All(wakes, w => Assert.True(w.Space >= limit / 3, $"woken with {w.Space} of {limit} bytes free"));
            Assert.All(wakes, w => Assert.True((w.Readiness & SocketReadiness.Writable) != 0));
            // The ACKs of the first third (about a dozen here) woke nobody; before the rule every ACK did.
            Assert.True(acks - wakes.Count >= 10, $"{wakes.Count} wake-ups for {acks} ACKs");
        }
    }

    private static NetSocket Listen(NetStack stack, int port)
    {
        var listener = new NetSocket(stack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, port));
        listener.Listen(16);
        return listener;
    }

    /// <summary>A connected pair: the client socket (polled) and the server's accepted socket.</summary>
    private static (Simulator Sim, NetSocket Socket, NetSocket Peer, NetPoller Poller) Connected(int seed)
    {
        var (sim, client, server) = Net.TwoHosts(seed);
        NetSocket listener = Listen(server, 80);
        var socket = new NetSocket(client, SocketType.Stream);
        socket.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 80));
        NetSocket peer = listener.Accept();
        socket.Blocking = false;
        return (sim, socket, peer, new NetPoller(client));
    }
}
