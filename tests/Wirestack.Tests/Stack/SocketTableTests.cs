using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Stack;

public sealed class SocketTableTests
{
    [Fact]
    public void Capture_ListsListenersConnectionsAndUdpLikeSs()
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(71);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(16);
        using var client = new NetSocket(clientHost, SocketType.Stream);
        client.Connect(Net.ServerHttp);
        using var udp = new NetSocket(serverHost, SocketType.Dgram);
        udp.Bind(IPv4Address.Any, 53);
        client.Send(new byte[3000]);
        sim.RunFor(TimeSpan.FromMilliseconds(50));

        IReadOnlyList<SocketTableRow> server = SocketTable.Capture(serverHost);
        SocketTableRow listen = server[0];
        Assert.Equal(("tcp", "LISTEN", "*:80", "*:*"), (listen.Protocol, listen.State, listen.Local, listen.Remote));
        Assert.Equal(1, listen.RecvQ); // one connection waiting for accept()
        Assert.Equal(16, listen.SendQ); // the backlog
        SocketTableRow estab = server[1];
        Assert.Equal("ESTAB", estab.State);
        Assert.Equal(3000, estab.RecvQ);
        Assert.Equal("10.0.0.2:80", estab.Local);
        Assert.Equal($"10.0.0.1:{client.LocalEndPoint!.Port}", estab.Remote);
        SocketTableRow dns = server[2];
        Assert.Equal(("udp", "UNCONN", "*:53"), (dns.Protocol, dns.State, dns.Local));

        SocketTableRow mine = Assert.Single(SocketTable.Capture(clientHost));
        Assert.Equal(0, mine.SendQ); // acknowledged
        Assert.Equal(13, mine.Cwnd); // 10 segments, grown by slow start as the 3000 bytes were acknowledged
        Assert.Equal(1448, mine.Mss);
        Assert.Equal(TimeSpan.FromMilliseconds(2), mine.Rtt);
        Assert.Equal("off", mine.Timer);
        Assert.Equal(SocketError.Success, mine.Error);

        Assert.Equal(new SortedDictionary<string, int> { ["tcp ESTAB"] = 1, ["tcp LISTEN"] = 1, ["udp UNCONN"] = 1 }, SocketTable.Summarize(server));
    }

    [Fact]
    public void Capture_ShowsTheRetransmissionTimerAndItsCount()
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(72);
        lock (serverHost.SyncRoot)
        {
            serverHost.Ip.Routes.Clear(); // silent
        }

        using var client = new NetSocket(clientHost, SocketType.Stream) { Blocking = false };
        client.Connect(new IPv4Address(10, 0, 0, 2), 80);
        sim.RunFor(TimeSpan.FromSeconds(2));

        SocketTableRow row = Assert.Single(SocketTable.Capture(clientHost));
        Assert.Equal("SYN-SENT", row.State);
        Assert.Equal("on", row.Timer);
        Assert.Equal(TimeSpan.FromSeconds(1), row.TimerRemaining); // SYN #3 is due at 3 s
        Assert.Equal(1, row.Retransmits);
        Assert.Null(row.Rtt);
    }
}
