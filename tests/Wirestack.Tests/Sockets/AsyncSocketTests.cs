using System.Net;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Sockets;

/// <summary>The ValueTask API's edges: cancellation, errors with their causes, close while pending, misuse, UDP;
/// and the poller waiting in real time on a StackDriver.</summary>
public sealed class AsyncSocketTests
{
    [Fact]
    public void ReceiveAsync_Canceled_ThrowsOperationCanceledAndLosesNoData()
    {
        var (sim, client, server) = Net.TwoHosts(601);
        using NetSocket listener = Listen(server);
        sim.Run(async () =>
        {
            using var socket = new NetSocket(client, SocketType.Stream);
            await socket.ConnectAsync(Net.ServerHttp);
            using NetSocket peer = await listener.AcceptAsync();
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2), sim.Clock); // virtual time
            byte[] buffer = new byte[16];
            var start = sim.Now;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await socket.ReceiveAsync(buffer, cancel.Token));
            Assert.Equal(TimeSpan.FromSeconds(2), sim.Now - start);

            await peer.SendAsync("after"u8.ToArray());
            Assert.Equal(5, await socket.ReceiveAsync(buffer)); // the socket still works, nothing was taken
        }, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void AcceptAsync_AlreadyCanceledToken_CompletesCanceledAtOnce()
    {
        var (_, _, server) = Net.TwoHosts(602);
        using NetSocket listener = Listen(server);
        ValueTask<NetSocket> accept = listener.AcceptAsync(new CancellationToken(canceled: true));
        Assert.True(accept.IsCanceled);
    }

    [Fact]
    public void ConnectAsync_SilentHost_FaultsWithTimedOutAndTheCause()
    {
        var (sim, client, server) = Net.TwoHosts(603);
        server.Ip.Routes.Clear();
        sim.Run(async () =>
        {
            using var socket = new NetSocket(client, SocketType.Stream);
            socket.Connection!.SynCount = 2;
            var error = await Assert.ThrowsAsync<WirestackSocketException>(async () => await socket.ConnectAsync(Net.ServerHttp));
            Assert.Equal(SocketError.TimedOut, error.SocketErrorCode);
            Assert.Equal("ETIMEDOUT", error.Errno);
            Assert.Contains("SYNs sent", error.Message);
            Assert.Equal(7.0, Math.Round(sim.Now.TotalSeconds, 3));
        }, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Close_WhileReceivePending_FaultsWithOperationAborted()
    {
        var (sim, client, server) = Net.TwoHosts(604);
        using NetSocket listener = Listen(server);
        sim.Run(async () =>
        {
            var socket = new NetSocket(client, SocketType.Stream);
            await socket.ConnectAsync(Net.ServerHttp);
            using NetSocket peer = await listener.AcceptAsync();
            ValueTask<int> pending = socket.ReceiveAsync(new byte[16]);
            Assert.False(pending.IsCompleted);
            socket.Close();
            var error = await Assert.ThrowsAsync<WirestackSocketException>(async () => await pending);
            Assert.Equal(SocketError.OperationAborted, error.SocketErrorCode);
            Assert.Throws<ObjectDisposedException>(() => socket.ReceiveAsync(new byte[16]));
        }, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void ReceiveAsync_SecondWhileFirstPending_IsMisuse()
    {
        var (sim, client, server) = Net.TwoHosts(605);
        using NetSocket listener = Listen(server);
        sim.Run(async () =>
        {
            using var socket = new NetSocket(client, SocketType.Stream);
            await socket.ConnectAsync(Net.ServerHttp);
            using NetSocket peer = await listener.AcceptAsync();
            ValueTask<int> first = socket.ReceiveAsync(new byte[16]);
            Assert.Throws<InvalidOperationException>(() => socket.ReceiveAsync(new byte[16]));
            await peer.SendAsync("x"u8.ToArray());
            Assert.Equal(1, await first);
        }, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void SendAsync_LargerThanTheSendBuffer_CompletesWhenEveryByteIsQueued()
    {
        var (sim, client, server) = Net.TwoHosts(606);
        using NetSocket listener = Listen(server);
        byte[] data = new byte[1_000_000];
        new Random(606).NextBytes(data);
        sim.Run(async () =>
        {
            using var socket = new NetSocket(client, SocketType.Stream);
            await socket.ConnectAsync(Net.ServerHttp);
            using NetSocket peer = await listener.AcceptAsync();
            Task<byte[]> reading = Peer.ReceiveExactlyAsync(peer, data.Length);
            ValueTask<int> sending = socket.SendAsync(data);
            Assert.False(sending.IsCompleted); // 16 KiB SO_SNDBUF: it has to wait for acknowledgements
            Assert.Equal(data.Length, await sending);
            Assert.Equal(data, await reading);
        }, TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void SendAsync_ParkedWhileThePeerWindowIsClosed_NeverSendsBeyondTheWindowTheAckOpens()
    {
        // A parked send resumes from the ACK that frees send-buffer room. It must see that ACK's window too: a send
        // moved on in the middle of the ACK's processing would still use the old window and put data beyond what
        // the receiver offered (dropped there as TCPZeroWindowDrop or trimmed, then retransmitted).
        var (sim, client, server) = Net.TwoHosts(607);
        using NetSocket listener = Listen(server);
        byte[] data = new byte[400_000];
        new Random(607).NextBytes(data);
        using var socket = new NetSocket(client, SocketType.Stream);
        NetSocket peer = sim.Run(async () =>
        {
            await socket.ConnectAsync(Net.ServerHttp);
            NetSocket accepted = await listener.AcceptAsync();
            accepted.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer, 4096);
            return accepted;
        }, TimeSpan.FromSeconds(10));

        ValueTask<int> sending = socket.SendAsync(data);
        sim.RunFor(TimeSpan.FromSeconds(5)); // the receiver reads nothing: its window closes, the send parks
        Assert.False(sending.IsCompleted);
        byte[] received = sim.Run(() => Peer.ReceiveExactlyAsync(peer, data.Length), TimeSpan.FromSeconds(120));
        Assert.True(sending.IsCompletedSuccessfully);
        Assert.Equal(data.Length, sim.Run(() => sending.AsTask(), TimeSpan.FromSeconds(1)));
        Assert.Equal(data, received);
        peer.Dispose();
        Assert.Equal(0, server.Counters.Tcp.TCPZeroWindowDrop);
        Assert.Equal(0, client.Counters.Tcp.RetransSegs);
    }

    [Fact]
    public void Udp_ReceiveAsync_GetsTheDatagram()
    {
        var (sim, client, server) = Net.TwoHosts(607);
        sim.Run(async () =>
        {
            using var receiver = new NetSocket(server, SocketType.Dgram);
            Assert.Equal(SocketError.Success, receiver.Bind(IPv4Address.Any, 9000));
            using var sender = new NetSocket(client, SocketType.Dgram);
            await sender.ConnectAsync(IPv4Address.Parse("10.0.0.2"), 9000);
            ValueTask<int> receiving = receiver.ReceiveAsync(new byte[64]);
            Assert.Equal(5, await sender.SendAsync("hello"u8.ToArray()));
            Assert.Equal(5, await receiving);
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void NetPoller_OverRealTimeDriver_WaitWakesWhenAnotherThreadSends()
    {
        using var driver = new StackDriver();
        NetStack client = driver.CreateStack(new NetStackOptions { Name = "client", Seed = 1 });
        NetStack server = driver.CreateStack(new NetStackOptions { Name = "server", Seed = 2 });
        driver.Connect(client, "10.0.0.1/24", server, "10.0.0.2/24", new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) });
        driver.Start();
        using NetSocket listener = Listen(server);
        using var socket = new NetSocket(client, SocketType.Stream) { Blocking = false };
        Assert.Equal(SocketError.InProgress, socket.Connect(IPv4Address.Parse("10.0.0.2"), 80));
        using var poller = new NetPoller(client);
        poller.Register(socket, SocketReadiness.Writable | SocketReadiness.Readable, PollFlags.EdgeTriggered);
        var events = new PollEvent[4];
        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(30)));
        Assert.Equal(SocketReadiness.Writable, events[0].Events);

        var sender = new Thread(() =>
        {
            using NetSocket accepted = listener.Accept();
            accepted.Send("ping"u8);
        });
        sender.Start();
        Assert.Equal(1, poller.Wait(events, TimeSpan.FromSeconds(30)));
        Assert.True((events[0].Events & SocketReadiness.Readable) != 0);
        Assert.True(sender.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal(4, socket.Receive(new byte[16]));

        var read = new List<NetSocket> { socket };
        Assert.Equal(1, NetPoller.Select(read, null, null, TimeSpan.FromSeconds(30))); // then the peer's FIN or RST
    }

    private static NetSocket Listen(NetStack stack)
    {
        var listener = new NetSocket(stack, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(16);
        return listener;
    }
}
