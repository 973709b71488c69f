using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>Slow start as a connection applies it, per profile: Linux credits every segment an ACK newly delivers
/// (tcp_slow_start with the tp->delivered delta), FreeBSD counts bytes with RFC 3465's L = 2 * SMSS
/// (net.inet.tcp.abc_l_var).</summary>
public sealed class SlowStartTests
{
    private const int Mss = 1000;

    private static (TcpPeer Peer, NetSocket Socket) Sending(string profile, bool sack, int bytes)
    {
        var peer = new TcpPeer(NetStackOptions.ForProfile(profile))
        {
            SynOptions = new TcpOptions { Mss = Mss, SackPermitted = sack },
        };
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.SendBuffer, 100_000);
        Assert.Equal(bytes, socket.Send(new byte[bytes]));
        return (peer, socket);
    }

    private static SeqNumber Data(TcpPeer peer, int segments) => peer.StackIss + 1 + segments * Mss;

    private static int DataSegments(TcpPeer peer) => peer.Sent().Count(s => s.PayloadLength > 0);

    [Theory]
    [Trait("Rfc", "5681 §3.1")]
    [Trait("Rfc", "3465 §2.2")]
    [InlineData("linux", 15, 10)] // cwnd 10 + 5 segments; 5 still in flight, so 10 new segments
    [InlineData("freebsd", 12, 7)] // cwnd 10 + min(5, L = 2) segments; 7 new segments
    public void Stretch_ack_in_slow_start_grows_cwnd_by_every_segment_on_linux_and_by_two_on_freebsd(
        string profile, int cwndSegments, int newSegments)
    {
        (TcpPeer peer, NetSocket socket) = Sending(profile, sack: false, bytes: 30_000);
        Assert.Equal(10, DataSegments(peer)); // RFC 6928 initial window

        peer.Send(TcpFlags.Ack, Data(peer, 5));

        Assert.Equal(cwndSegments * Mss, socket.Connection!.Congestion!.Cwnd);
        Assert.Equal(newSegments, DataSegments(peer));
    }

    [Theory]
    [Trait("Rfc", "3042")]
    [InlineData("linux", false, 11, 2)] // two segments were counted delivered by the duplicate ACKs: 1 credited
    [InlineData("linux", true, 11, 2)] // two segments were SACKed before: 1 credited
    [InlineData("freebsd", false, 12, 3)] // bytes acknowledged, at most 2 * SMSS
    [InlineData("freebsd", true, 12, 3)]
    public void Ack_after_limited_transmit_credits_on_linux_only_segments_not_already_counted(
        string profile, bool sack, int cwndSegments, int newSegments)
    {
        (TcpPeer peer, NetSocket socket) = Sending(profile, sack, bytes: 15_000);
        Assert.Equal(10, DataSegments(peer));

        // Segment 1 is late; segments 2 and 3 arrive and are duplicate-ACKed (and SACKed): limited transmit.
        SeqNumber una = Data(peer, 0);
        for (int dup = 1; dup <= 2; dup++)
        {
            var options = default(TcpOptions);
            if (sack)
            {
                options.SackCount = 1;
                options.Sacks[0] = new SackBlock(Data(peer, 1), Data(peer, 1 + dup));
            }

            peer.Send(TcpFlags.Ack, una, options: options);
            Assert.Equal(1, DataSegments(peer));
        }

        // Segment 1 arrives: the ACK covers 1..3.
        peer.Send(TcpFlags.Ack, Data(peer, 3));

        Assert.Equal(cwndSegments * Mss, socket.Connection!.Congestion!.Cwnd);
        Assert.Equal(newSegments, DataSegments(peer)); // 9 in flight before
    }

    [Fact]
    [Trait("Rfc", "2018")]
    public void Linux_slow_start_credits_what_an_advancing_ack_newly_sacks()
    {
        (TcpPeer peer, NetSocket socket) = Sending("linux", sack: true, bytes: 30_000);
        Assert.Equal(10, DataSegments(peer));

        // Segment 1 acknowledged, segment 3 SACKed (segment 2 late): two segments delivered.
        var options = new TcpOptions { SackCount = 1 };
        options.Sacks[0] = new SackBlock(Data(peer, 2), Data(peer, 3));
        peer.Send(TcpFlags.Ack, Data(peer, 1), options: options);

        Assert.Equal(12 * Mss, socket.Connection!.Congestion!.Cwnd);
    }
}
