using System.Net;
using System.Net.Sockets;
using Wirestack.Simulation.Fuzzing;
using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;
using static Wirestack.Tests.Hostile.HostileInput;

namespace Wirestack.Tests.Hostile;

/// <summary>Flag combinations no honest peer sends (SYN+FIN, scans) and land packets (source = destination).</summary>
public sealed class ControlFlagTests
{
    private static NetSocket Listen(TcpPeer peer)
    {
        var listener = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        listener.Bind(new IPEndPoint(IPAddress.Any, peer.LocalPort));
        listener.Listen(4);
        return listener;
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.2")]
    public void SynFin_ToAListener_NeverReachesCloseWait()
    {
        var peer = new TcpPeer();
        NetSocket listener = Listen(peer);

        Inject(peer, Segment(peer, TcpFlags.Syn | TcpFlags.Fin, ack: default, options: TcpOptionBytes.Mss(1460)));

        // The stack may drop it (Linux) or answer the SYN alone; it must never take the FIN with the SYN (the FIN is
        // not acknowledged, no connection is half-closed before it exists).
        foreach (var s in peer.Sent())
        {
            Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, s.Header.Flags);
            Assert.Equal(peer.Nxt + 1, s.Header.AcknowledgmentNumber);
        }

        Assert.DoesNotContain(peer.Stack.Tcp.Connections, c => c.State is TcpState.CloseWait or TcpState.Established || c.FinReceived);
        Assert.Null(listener.Accept(out _));
    }

    [Fact]
    [Trait("Rfc", "5961 §4.2")]
    public void SynFin_OnAnEstablishedConnection_GetsAChallengeAckAndChangesNothing()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.Sent();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;

        Inject(peer, Segment(peer, TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Ack));

        TcpHeader ack = peer.ExpectOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(rcvNxt, ack.AcknowledgmentNumber);
        Assert.Equal(TcpState.Established, socket.Connection.State);
        Assert.False(socket.Connection.FinReceived);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPChallengeACK);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.2")]
    public void NullAndXmasScans_ToAListener_AreDroppedOrReset()
    {
        var peer = new TcpPeer();
        Listen(peer);

        Inject(peer, Segment(peer, 0, ack: default)); // NULL scan: no flags at all
        peer.ExpectNothing();
        Inject(peer, Segment(peer, TcpFlags.Fin | TcpFlags.Psh | TcpFlags.Urg, ack: default)); // Xmas scan, no ACK, no SYN
        peer.ExpectNothing(); // LISTEN: neither RST nor ACK nor SYN set: "drop the segment and return"
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.1")]
    public void XmasScan_ToAClosedPort_GetsOneReset()
    {
        var peer = new TcpPeer();

        Inject(peer, Segment(peer, TcpFlags.Fin | TcpFlags.Psh | TcpFlags.Urg, ack: default));

        TcpHeader rst = peer.ExpectOne();
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(peer.Nxt + 1, rst.AcknowledgmentNumber); // the FIN counts one
    }

    [Fact]
    [Trait("Rfc", "1122 §4.2.3.10")]
    public void LandSyn_SourceIsDestination_IsDroppedWithoutAnswer()
    {
        var peer = new TcpPeer();
        NetSocket listener = Listen(peer);
        IPv4Address self = peer.Harness.Local;
        var land = new RawTcp
        {
            SourcePort = peer.LocalPort, DestinationPort = peer.LocalPort, Seq = 1000, Flags = TcpFlags.Syn,
            Options = TcpOptionBytes.Mss(1460),
        };

        peer.Harness.Inject(land.Datagram(self, self));

        Assert.Empty(peer.Harness.TakeSent());
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
        Assert.Equal(1, peer.Stack.Counters.Tcp.InErrs);
        Assert.Null(listener.Accept(out _));
    }

    [Fact]
    [Trait("Rfc", "1122 §3.2.1.3")]
    public void Syn_FromABroadcastOrMulticastSource_IsDropped()
    {
        var peer = new TcpPeer();
        Listen(peer);
        foreach (string source in new[] { "255.255.255.255", "192.168.0.255", "224.0.0.1" })
        {
            var syn = new RawTcp { SourcePort = 1234, DestinationPort = peer.LocalPort, Seq = 5, Flags = TcpFlags.Syn };
            peer.Harness.Inject(syn.Datagram(IPv4Address.Parse(source), peer.Harness.Local));
        }

        Assert.Empty(peer.Harness.TakeSent());
        Assert.Equal(3, peer.Stack.Counters.Ip.InAddrErrors);
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
    }
}
