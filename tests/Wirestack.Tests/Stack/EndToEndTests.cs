using System.Net.Sockets;
using System.Security.Cryptography;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Tests.Stack;

public sealed class EndToEndTests
{
    private static (Simulator Sim, NetStack A, NetStack B) TwoHosts(int seed, LinkImpairments? impairments = null)
    {
        var sim = new Simulator(seed);
        NetStack a = sim.AddHost("a");
        NetStack b = sim.AddHost("b");
        sim.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", impairments ?? new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) });
        return (sim, a, b);
    }

    [Fact]
    public void Ping_AcrossWire_GetsReplyAfterOneRoundTrip()
    {
        var (sim, a, _) = TwoHosts(1);
        using var pinger = new Pinger(a, 7);
        Assert.Equal(SocketError.Success, pinger.Send(IPv4Address.Parse("10.0.0.2"), 1));
        sim.RunUntil(() => pinger.HasReply(1), TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(2), pinger.Replies[0].Rtt);
    }

    [Fact]
    public void Udp_SendTo_ArrivesWithSender()
    {
        var (sim, a, b) = TwoHosts(2);
        using var server = new NetSocket(b, SocketType.Dgram);
        Assert.Equal(SocketError.Success, server.Bind(IPv4Address.Any, 9000));
        using var client = new NetSocket(a, SocketType.Dgram);
        Assert.Equal(SocketError.Success, client.SendTo("hello"u8, IPv4Address.Parse("10.0.0.2"), 9000));
        byte[] buffer = new byte[64];
        int n = server.ReceiveFrom(buffer, out IPv4Address from, out ushort port, out SocketError error);
        Assert.Equal(SocketError.Success, error);
        Assert.Equal("hello"u8.ToArray(), buffer[..n]);
        Assert.Equal(IPv4Address.Parse("10.0.0.1"), from);
        Assert.InRange(port, 32768, 60999);
    }

    [Fact]
    public void Tcp_BlockingSendWithoutReader_ReportsDeadlockInsteadOfHanging()
    {
        var (sim, a, b) = TwoHosts(4);
        using var listener = new NetSocket(b, SocketType.Stream);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, 80));
        listener.Listen(16);
        using var client = new NetSocket(a, SocketType.Stream);
        client.Connect(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.0.0.2"), 80));
        // nobody reads on the other side: in real life this send would block forever
        var ex = Assert.Throws<SimulationDeadlockException>(() => client.Send(new byte[1_000_000]));
        Assert.Contains("idle", ex.Message);
    }

    [Fact]
    public void Tcp_BlockingTransfer_DeliversEveryByte()
    {
        var (sim, a, b) = TwoHosts(3);
        using var listener = new NetSocket(b, SocketType.Stream);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, 80));
        listener.Listen(16);
        using var client = new NetSocket(a, SocketType.Stream);
        client.Connect(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.0.0.2"), 80));
        using NetSocket server = listener.Accept();
        var reader = new SocketDrain(sim, server);
        byte[] data = new byte[200_000];
        new Random(5).NextBytes(data);
        Assert.Equal(data.Length, client.Send(data));
        client.Shutdown(SocketShutdown.Send);
        sim.RunUntil(() => reader.Finished, TimeSpan.FromSeconds(10));
        Assert.Equal(SHA256.HashData(data), reader.Digest);
    }
}
