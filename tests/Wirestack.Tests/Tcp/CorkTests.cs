using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>TCP_CORK, MSG_MORE and the flush of setting TCP_NODELAY, as Linux has them (tcp(7); tcp_nagle_check with
/// TCP_NAGLE_CORK, tcp_push, __tcp_sock_set_cork, __tcp_sock_set_nodelay).</summary>
public sealed class CorkTests
{
    private const int Mss = 1000;

    private static (TcpPeer Peer, NetSocket Socket) Connected()
    {
        return TcpPeer.LinuxSender(Mss);
    }

    private static List<(TcpHeader Header, int PayloadLength, double Time)> DataSent(TcpPeer peer) =>
        peer.Sent().Where(s => s.PayloadLength > 0).ToList();

    [Fact]
    public void Cork_sends_full_segments_and_holds_the_partial_one_until_uncorked()
    {
        (TcpPeer peer, NetSocket socket) = Connected();
        Assert.Equal(SocketError.Success, socket.SetSocketOption(LinuxSocketOption.TcpCork, 1));
        Assert.Equal(1, socket.GetSocketOption(LinuxSocketOption.TcpCork));

        Assert.Equal(2500, socket.Send(new byte[2500]));
        Assert.Equal([Mss, Mss], DataSent(peer).Select(s => s.PayloadLength));
        peer.Send(TcpFlags.Ack, peer.Rcv + 2000); // nothing in flight: Nagle alone would let the 500 go now
        Assert.Empty(DataSent(peer));

        Assert.Equal(SocketError.Success, socket.SetSocketOption(LinuxSocketOption.TcpCork, 0));

        var tail = Assert.Single(DataSent(peer));
        Assert.Equal(500, tail.PayloadLength);
        Assert.Equal(TcpFlags.Ack | TcpFlags.Psh, tail.Header.Flags);
    }

    [Fact]
    public void Corked_data_with_nothing_in_flight_goes_after_an_rto()
    {
        (TcpPeer peer, NetSocket socket) = Connected();
        socket.SetSocketOption(LinuxSocketOption.TcpCork, 1);

        Assert.Equal(40, socket.Send(new byte[40]));
        peer.Harness.Advance(TimeSpan.FromMilliseconds(150));
        Assert.Empty(DataSent(peer));
        peer.Harness.Advance(TimeSpan.FromMilliseconds(100));

        // tcp(7): "a 200 millisecond ceiling on the time for which output is corked" (the probe timer, RTO 200 ms).
        var sent = Assert.Single(DataSent(peer));
        Assert.Equal(40, sent.PayloadLength);
        Assert.Equal(0.2, sent.Time, 3);
    }

    [Fact]
    public void Setting_nodelay_flushes_corked_data_once_and_the_cork_still_holds_later_writes()
    {
        (TcpPeer peer, NetSocket socket) = Connected();
        socket.SetSocketOption(LinuxSocketOption.TcpCork, 1);
        socket.Send(new byte[40]);
        socket.Send(new byte[40]);
        Assert.Empty(DataSent(peer));

        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.NoDelay, 1);
        Assert.Equal(80, Assert.Single(DataSent(peer)).PayloadLength);
        peer.Send(TcpFlags.Ack, peer.Rcv + 80);

        socket.Send(new byte[40]);
        Assert.Empty(DataSent(peer)); // TCP_NODELAY "is overridden by TCP_CORK"
    }

    [Fact]
    public void Msg_more_holds_the_tail_and_the_next_write_sends_both_with_psh()
    {
        (TcpPeer peer, NetSocket socket) = Connected();

        Assert.Equal(40, socket.Send(new byte[40], out SocketError error, more: true));
        Assert.Equal(SocketError.Success, error);
        Assert.Empty(DataSent(peer));
        Assert.Equal(40, socket.Send(new byte[40], out _));

        var sent = Assert.Single(DataSent(peer));
        Assert.Equal(80, sent.PayloadLength);
        Assert.Equal(TcpFlags.Ack | TcpFlags.Psh, sent.Header.Flags);
    }

    [Fact]
    public void Data_written_with_msg_more_and_flushed_carries_no_psh()
    {
        (TcpPeer peer, NetSocket socket) = Connected();
        socket.Send(new byte[40], out _, more: true);
        socket.Send(new byte[40], out _, more: true);

        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.NoDelay, 1);

        var sent = Assert.Single(DataSent(peer));
        Assert.Equal(80, sent.PayloadLength);
        Assert.Equal(TcpFlags.Ack, sent.Header.Flags);
    }

    [Fact]
    public void Setting_nodelay_flushes_what_nagle_holds()
    {
        (TcpPeer peer, NetSocket socket) = Connected();
        socket.Send(new byte[500]);
        Assert.Equal(500, Assert.Single(DataSent(peer)).PayloadLength);
        socket.Send(new byte[300]);
        Assert.Empty(DataSent(peer)); // Nagle: a small segment is unacknowledged

        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.NoDelay, 1);

        Assert.Equal(300, Assert.Single(DataSent(peer)).PayloadLength);
    }

    [Fact]
    public void Close_while_corked_sends_the_held_tail_with_the_fin_at_once()
    {
        (TcpPeer peer, NetSocket socket) = Connected();
        socket.SetSocketOption(LinuxSocketOption.TcpCork, 1);
        socket.Send(new byte[40]);
        Assert.Empty(DataSent(peer));

        socket.Shutdown(SocketShutdown.Send);

        var sent = Assert.Single(DataSent(peer)); // Linux tcp_nagle_test: the FIN segment is exempt from the cork
        Assert.Equal(40, sent.PayloadLength);
        Assert.True(sent.Header.Flags.HasFlag(TcpFlags.Fin));
    }

    [Fact]
    public void The_push_of_tcp_nodelay_lasts_until_the_next_write()
    {
        (TcpPeer peer, NetSocket socket) = Connected();
        socket.SetSocketOption(LinuxSocketOption.TcpCork, 1);
        Assert.Equal(10_500, socket.Send(new byte[10_500]));
        Assert.Equal(10, DataSent(peer).Count); // the initial window; 500 B held by the cork

        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.NoDelay, 1);
        Assert.Empty(DataSent(peer)); // cwnd is full: the push cannot send yet
        peer.Send(TcpFlags.Ack, peer.Rcv + 10_000);

        Assert.Equal(500, Assert.Single(DataSent(peer)).PayloadLength); // TCP_NAGLE_PUSH still set when the ACK came
    }
}
