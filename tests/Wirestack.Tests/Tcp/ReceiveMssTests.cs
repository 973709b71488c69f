using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>
/// The peer's segment size as the receiver estimates it (Linux <c>icsk_ack.rcv_mss</c>, <c>tcpi_rcv_mss</c>;
/// <c>tcp_initialize_rcv_mss</c>, <c>tcp_measure_rcv_mss</c>): 536 at most before data, then the size of full
/// segments, a large segment counting by its GSO size, capped at the MSS this end advertised.
/// </summary>
public sealed class ReceiveMssTests
{
    private static (TcpPeer Peer, NetSocket Socket) Accepted(ushort peerMss)
    {
        var peer = new TcpPeer(NetStackOptions.ForProfile("linux")) { SynOptions = new TcpOptions { Mss = peerMss, SackPermitted = true } };
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        return (peer, socket);
    }

    [Fact]
    public void Before_data_it_is_the_default_mss_and_a_full_segment_sets_it()
    {
        (TcpPeer peer, NetSocket socket) = Accepted(1000);
        Assert.Equal(536, socket.Connection!.ReceiveMss); // TCP_MSS_DEFAULT: min(advmss 1460, mss 1000, window / 2, 536)

        peer.SendData(new byte[1000]);

        Assert.Equal(1000, socket.Connection.ReceiveMss);
    }

    [Fact]
    public void A_large_segment_counts_by_its_gso_size_even_out_of_order()
    {
        // The selftest tcp_ooo_rcv_mss.pkt: 9,000 bytes as one GRO'd segment of 1,000-byte segments, beyond a hole.
        (TcpPeer peer, NetSocket socket) = Accepted(1000);
        peer.Send(TcpFlags.Ack, peer.Rcv, new byte[9000], seq: peer.Nxt + 2000, gsoSize: 1000);

        Assert.Equal(1000, socket.Connection!.ReceiveMss);
        Assert.Equal(0, socket.Connection.ReceiveQueued); // out of order: held, not readable
    }

    [Fact]
    public void Without_a_gso_size_a_large_segment_is_capped_at_the_advertised_mss()
    {
        (TcpPeer peer, NetSocket socket) = Accepted(1000);
        peer.SendData(new byte[9000]);

        Assert.Equal(socket.Connection!.AdvertisedMss, socket.Connection.ReceiveMss);
    }

    [Fact]
    public void Smaller_segments_lower_it_only_when_two_in_a_row_look_full_sized()
    {
        (TcpPeer peer, NetSocket socket) = Accepted(1000);
        peer.SendData(new byte[1000]);
        peer.SendData(new byte[300], TcpFlags.Psh); // a pushed tail: not full-sized
        peer.SendData(new byte[300], TcpFlags.Psh);
        Assert.Equal(1000, socket.Connection!.ReceiveMss);

        peer.SendData(new byte[300]); // no PSH and over 88 bytes: looks full-sized; the second in a row sets it
        Assert.Equal(1000, socket.Connection.ReceiveMss);
        peer.SendData(new byte[300]);
        Assert.Equal(300, socket.Connection.ReceiveMss);
    }

    [Fact]
    public void Delayed_acks_count_full_segments_by_the_peers_size_not_by_our_mss()
    {
        // The peer announced MSS 536 but sends 1,460-byte segments (our MSS option allows them). Our own MSS is 536;
        // counting its segments against that made every one "more than full-sized" and ACKed at once. Counted against
        // rcv_mss (1,460), past the quick ACKs of the start every second segment is ACKed, as Linux does.
        (TcpPeer peer, NetSocket socket) = Accepted(536);
        Assert.Equal(536, socket.Connection!.Mss);
        for (int i = 0; i < 16; i++)
        {
            peer.SendData(new byte[1460]); // the quick-ACK phase
        }

        peer.Sent();
        for (int i = 0; i < 20; i++)
        {
            peer.SendData(new byte[1460]);
        }

        int acks = peer.Sent().Count(s => s.PayloadLength == 0 && s.Header.Flags == TcpFlags.Ack);
        Assert.Equal(1460, socket.Connection.ReceiveMss);
        Assert.Equal(10, acks);
    }
}
