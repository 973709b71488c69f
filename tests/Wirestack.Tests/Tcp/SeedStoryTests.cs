using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>The stories of seeds 002 and 004, each as a deterministic test in virtual time.</summary>
public sealed class SeedStoryTests
{
    [Fact]
    [Trait("Seed", "004 §1.3.2")]
    public void Connect_ToSilentHost_SendsSevenSynsWithBackoffThenTimesOutAt127s()
    {
        var (sim, client, server) = Net.TwoHosts(11);
        lock (server.SyncRoot) { server.Icmp.AnswerEcho = false; }
        // The server drops everything: a silent host (a black hole on its input).
        server.Ip.Routes.Clear();
        var synTimes = new List<double>();
        sim.Wires[0].Tap = (packet, t) =>
        {
            if (IPv4Packet.TryCreate(packet, out var ip) == HeaderError.None && TcpSegment.TryCreate(ip.Payload, out var seg) == HeaderError.None &&
                seg.Flags == TcpFlags.Syn)
            {
                synTimes.Add(t.TotalSeconds);
            }
        };
        // make the server really silent: no listener and no RST (drop its TCP output by removing its routes)
        using var socket = new NetSocket(client, SocketType.Stream);
        Instant start = sim.Now;
        SocketError error = socket.Connect(IPv4Address.Parse("10.0.0.2"), 80);

        Assert.Equal(SocketError.TimedOut, error);
        Assert.Equal(new[] { 0.0, 1, 3, 7, 15, 31, 63 }, synTimes.Select(t => Math.Round(t - synTimes[0], 3)));
        Assert.Equal(127.0, Math.Round((sim.Now - start).TotalSeconds, 3));
        Assert.Contains("7 SYNs sent at 0,1,3,7,15,31,63 s", socket.ErrorCause);
        Assert.Equal(6, client.Counters.Tcp.TCPSynRetrans);
        Assert.Equal(1, client.Counters.Tcp.AttemptFails);
    }

    [Fact]
    [Trait("Seed", "004 §1.3.2")]
    public void Connect_SynCountOption_LimitsRetries()
    {
        var (sim, client, server) = Net.TwoHosts(12);
        server.Ip.Routes.Clear();
        using var socket = new NetSocket(client, SocketType.Stream);
        socket.Connection!.SynCount = 2;
        Instant start = sim.Now;
        Assert.Equal(SocketError.TimedOut, socket.Connect(IPv4Address.Parse("10.0.0.2"), 80));
        Assert.Equal(7.0, Math.Round((sim.Now - start).TotalSeconds, 3)); // SYNs at 0, 1, 3; gives up at 7
    }

    [Fact]
    [Trait("Seed", "004 §1.3.1")]
    public void Connect_NoListener_RstAckGivesConnectionRefused()
    {
        var (sim, client, server) = Net.TwoHosts(13);
        using var socket = new NetSocket(client, SocketType.Stream);
        SocketError error = socket.Connect(IPv4Address.Parse("10.0.0.2"), 81);
        Assert.Equal(SocketError.ConnectionRefused, error);
        Assert.Contains("RST,ACK", socket.ErrorCause);
        Assert.Equal(1, server.Counters.Tcp.OutRsts);
        Assert.Equal(1, client.Counters.Tcp.AttemptFails);
    }

    [Fact]
    [Trait("Seed", "003")]
    public void Connect_NonBlocking_ReturnsInProgressThenWritableWithSoError()
    {
        var (sim, client, server) = Net.TwoHosts(14);
        using var socket = new NetSocket(client, SocketType.Stream) { Blocking = false };
        Assert.Equal(SocketError.InProgress, socket.Connect(IPv4Address.Parse("10.0.0.2"), 81));
        Assert.Equal(SocketReadiness.None, socket.Readiness & SocketReadiness.Writable);
        sim.RunUntil(() => (socket.Readiness & SocketReadiness.Writable) != 0, TimeSpan.FromSeconds(5));
        Assert.True((socket.Readiness & SocketReadiness.Error) != 0);
        Assert.Equal(SocketError.ConnectionRefused, socket.GetPendingError());
    }

    [Fact]
    [Trait("Seed", "004 §1.4, §3.1")]
    public void Backlog_Overflow_ClientThinksConnectedThenGetsResetWhenWriting()
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(15);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(1); // never accepts: backlog 1 holds 2 (Linux allows backlog + 1)

        var clients = new List<NetSocket>();
        for (int i = 0; i < 4; i++)
        {
            var c = new NetSocket(clientHost, SocketType.Stream) { Blocking = false };
            Assert.Equal(SocketError.InProgress, c.Connect(IPv4Address.Parse("10.0.0.2"), 80));
            clients.Add(c);
        }

        sim.RunUntil(() => clients.All(c => c.Connection!.State == TcpState.Established), TimeSpan.FromSeconds(5));
        sim.RunFor(TimeSpan.FromMilliseconds(10));
        Assert.True(2 == listener.Listener!.AcceptQueueLength, $"accept {listener.Listener!.AcceptQueueLength} syn {listener.Listener.SynQueueLength} conns {serverHost.Tcp.ConnectionCount} cookies {serverHost.Counters.Tcp.SyncookiesSent}/{serverHost.Counters.Tcp.SyncookiesRecv}/{serverHost.Counters.Tcp.SyncookiesFailed} ovf {serverHost.Counters.Tcp.ListenOverflows} rst {serverHost.Counters.Tcp.OutRsts}");
        Assert.True(serverHost.Counters.Tcp.ListenOverflows >= 2);
        Assert.True(serverHost.Counters.Tcp.ListenDrops >= 2);

        // Every client believes it is connected and writes; the two the server dropped get ECONNRESET in the end.
        foreach (NetSocket c in clients)
        {
            Assert.Equal(5, c.Send("hello"u8));
        }

        sim.RunUntil(() => clients.Count(c => c.Connection!.PendingError == SocketError.ConnectionReset) == 2, TimeSpan.FromSeconds(300));
        Assert.Equal(2, clients.Count(c => c.Connection!.State == TcpState.Established));
        NetSocket reset = clients.First(c => c.Connection!.PendingError == SocketError.ConnectionReset);
        byte[] buffer = new byte[16];
        reset.Receive(buffer, out SocketError error);
        Assert.Equal(SocketError.ConnectionReset, error);
        foreach (NetSocket c in clients) c.Dispose();
    }

    [Fact]
    [Trait("Seed", "004 §1.4, §3.1")]
    public void Backlog_Overflow_WithoutCookies_ResetExplainsTheDroppedAck()
    {
        var serverOptions = new NetStackOptions();
        serverOptions.Tcp.SynCookies = 0;
        var (sim, clientHost, serverHost) = Net.TwoHosts(21, serverOptions: serverOptions);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(2); // holds 3 (Linux: backlog + 1); the SYN queue holds 2
        var clients = new List<NetSocket>();
        NetSocket Connect()
        {
            var c = new NetSocket(clientHost, SocketType.Stream) { Blocking = false };
            c.Connect(IPv4Address.Parse("10.0.0.2"), 80);
            clients.Add(c);
            return c;
        }

        Connect();
        sim.RunFor(TimeSpan.FromMilliseconds(100));
        Connect();
        sim.RunFor(TimeSpan.FromMilliseconds(100));
        // Two SYNs at once find the accept queue with room (2 of 3); the first ACK fills it, the second is dropped.
        Connect();
        Connect();
        sim.RunUntil(() => clients.All(c => c.Connection!.State == TcpState.Established), TimeSpan.FromSeconds(10));
        foreach (NetSocket c in clients) c.Send("hello"u8, out _);
        sim.RunUntil(() => clients.Any(c => c.Connection!.PendingError == SocketError.ConnectionReset), TimeSpan.FromSeconds(300));
        NetSocket reset = clients.Single(c => c.Connection!.PendingError == SocketError.ConnectionReset);
        Assert.Contains("accept queue was full", reset.ErrorCause);
        Assert.True(serverHost.Counters.Tcp.ListenOverflows >= 1);
        reset.Send("again"u8, out SocketError first);
        reset.Send("again"u8, out SocketError second);
        Assert.Equal(SocketError.ConnectionReset, first);  // the error once...
        Assert.Equal(SocketError.Shutdown, second);        // ...then EPIPE, as Linux does
        foreach (NetSocket c in clients) c.Dispose();
    }

    [Fact]
    [Trait("Seed", "004 §1.4")]
    public void Backlog_Overflow_AbortOnOverflowResetsAtOnce()
    {
        var serverOptions = new NetStackOptions();
        serverOptions.Tcp.AbortOnOverflow = true;
        var (sim, clientHost, serverHost) = Net.TwoHosts(16, serverOptions: serverOptions);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(0);
        var clients = Enumerable.Range(0, 3).Select(_ => new NetSocket(clientHost, SocketType.Stream) { Blocking = false }).ToList();
        foreach (NetSocket c in clients) c.Connect(IPv4Address.Parse("10.0.0.2"), 80);
        sim.RunFor(TimeSpan.FromMilliseconds(50));
        Assert.Equal(1, listener.Listener!.AcceptQueueLength);
        Assert.Equal(2, clients.Count(c => c.Connection!.PendingError == SocketError.ConnectionReset));
        foreach (NetSocket c in clients) c.Dispose();
    }

    [Fact]
    [Trait("Seed", "004 §3.3")]
    public void Send_AfterPeerReset_FailsWithEpipeShutdown()
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(17);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        using var client = new NetSocket(clientHost, SocketType.Stream);
        client.Connect(Net.ServerHttp);
        NetSocket server = listener.Accept();
        server.Connection!.Linger = TimeSpan.Zero;
        server.Close(); // linger 0: RST
        sim.RunFor(TimeSpan.FromMilliseconds(10));
        client.Send("x"u8, out SocketError first);
        Assert.Equal(SocketError.ConnectionReset, first);
        Assert.Equal(1, serverHost.Counters.Tcp.TCPAbortOnLinger);
    }

    [Theory]
    [Trait("Seed", "002")]
    [InlineData(2048)]
    [InlineData(5000)]
    [InlineData(6500)]
    [InlineData(8000)]
    [InlineData(200 * 1024)]
    public void Send_KyuChunkSizes_AllBytesArriveIntact(int chunk)
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(18 + chunk);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 2022));
        listener.Listen(8);
        using var client = new NetSocket(clientHost, SocketType.Stream);
        client.Connect(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 2022));
        using NetSocket server = listener.Accept();
        var reader = new SocketDrain(sim, server);
        byte[] data = new byte[200 * 1024];
        new Random(chunk).NextBytes(data);
        for (int offset = 0; offset < data.Length; offset += chunk)
        {
            int len = Math.Min(chunk, data.Length - offset);
            Assert.Equal(len, client.Send(data.AsSpan(offset, len))); // a blocking send takes every byte, never a panic
        }

        client.Close();
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(60));
        Assert.Equal(SHA256.HashData(data), reader.Digest);
    }

    [Fact]
    [Trait("Seed", "002")]
    public void Send_TenMegabytesIntoSixteenKilobyteBuffer_DeliversEveryByte()
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(19);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        using var client = new NetSocket(clientHost, SocketType.Stream);
        client.Connect(Net.ServerHttp);
        Assert.Equal(16384, client.Connection!.SendBufferSize); // Linux tcp_wmem[1]
        using NetSocket server = listener.Accept();
        var reader = new SocketDrain(sim, server);
        byte[] data = new byte[10 * 1024 * 1024];
        new Random(19).NextBytes(data);
        Assert.Equal(data.Length, client.Send(data));
        client.Shutdown(SocketShutdown.Send);
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(600));
        Assert.Equal(SHA256.HashData(data), reader.Digest);
    }

    [Fact]
    [Trait("Seed", "002")]
    public void Send_NonBlockingIntoFullBuffer_ReturnsCountAcceptedThenWouldBlock()
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(20);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        using var client = new NetSocket(clientHost, SocketType.Stream);
        client.Connect(Net.ServerHttp);
        client.Blocking = false;
        byte[] data = new byte[100_000];
        int first = client.Send(data, out SocketError e1);
        Assert.Equal(SocketError.Success, e1);
        Assert.Equal(8192, first); // half of SO_SNDBUF 16384 is for data, as in Linux
        int second = client.Send(data, out SocketError e2);
        Assert.Equal(0, second);
        Assert.Equal(SocketError.WouldBlock, e2);
    }

    internal static byte[] ReadAll(NetSocket socket)
    {
        var received = new MemoryStream();
        byte[] buffer = new byte[16384];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }
}
