using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>TCP_NOTSENT_LOWAT and tcp_notsent_lowat as Linux has them: a write stops once that much written data waits
/// unsent (tcp_stream_memory_free), and the socket is writable again only below half of it.</summary>
public sealed class NotSentLowatTests
{
    private const int Mss = 1000;

    private static (TcpPeer Peer, NetSocket Socket) Connected(int socketLowat = 0, int stackLowat = int.MaxValue)
    {
        (TcpPeer peer, NetSocket socket) = TcpPeer.LinuxSender(Mss, configure: tcp => tcp.NotSentLowWatermark = stackLowat);
        if (socketLowat != 0)
        {
            Assert.Equal(SocketError.Success, socket.SetSocketOption(LinuxSocketOption.TcpNotSentLowat, socketLowat));
        }

        return (peer, socket);
    }

    private static int DataSegments(TcpPeer peer) => peer.Sent().Count(s => s.PayloadLength > 0);

    [Fact]
    public void A_write_takes_what_the_window_sends_plus_the_low_watermark_then_would_block()
    {
        (TcpPeer peer, NetSocket socket) = Connected(socketLowat: 4000);
        Assert.Equal(4000, socket.GetSocketOption(LinuxSocketOption.TcpNotSentLowat));

        Assert.Equal(14_000, socket.Send(new byte[30_000], out SocketError error)); // 10 segments of IW sent, 4,000 B wait
        Assert.Equal(SocketError.Success, error);
        Assert.Equal(10, DataSegments(peer));
        Assert.Equal(4000, socket.Connection!.NotSentBytes);
        Assert.False(socket.Connection.CanWrite);

        Assert.Equal(0, socket.Send(new byte[1000], out error));
        Assert.Equal(SocketError.WouldBlock, error);
    }

    [Fact]
    public void The_socket_is_writable_again_once_less_than_half_waits_unsent()
    {
        (TcpPeer peer, NetSocket socket) = Connected(socketLowat: 4000);
        socket.Send(new byte[30_000], out _);
        peer.Sent();
        int readiness = 0;
        socket.ReadinessChanged += _ => readiness++;

        peer.Send(TcpFlags.Ack, peer.Rcv + 10_000); // cwnd 20: the 4,000 waiting bytes go

        Assert.Equal(4, DataSegments(peer));
        Assert.Equal(0, socket.Connection!.NotSentBytes);
        Assert.True(socket.Connection.CanWrite);
        Assert.True(readiness > 0);
    }

    [Fact]
    public void In_SACK_recovery_new_data_sent_on_a_duplicate_ACK_wakes_the_writer()
    {
        // Regression: Output's SACK-recovery path returned before the TCP_NOTSENT_LOWAT check, so a writer kept
        // below the watermark was never woken while the sender repaired a loss: new data ran out mid-recovery and a
        // lossy 1 Gbit/s transfer took 75% longer. Linux checks after every ACK (tcp_data_snd_check → tcp_check_space).
        (TcpPeer peer, NetSocket socket) = TcpPeer.LinuxSender(Mss, sack: true);
        Assert.Equal(SocketError.Success, socket.SetSocketOption(LinuxSocketOption.TcpNotSentLowat, 4000));
        Assert.Equal(14_000, socket.Send(new byte[30_000], out _)); // 10 segments in flight, 4,000 B wait unsent
        peer.Sent();
        SeqNumber first = peer.Rcv; // the first segment is lost: every ACK below stays at it, each SACKs one more
        int writableWakes = 0; // readiness events that find the socket writable: the ones a writer acts on
        socket.ReadinessChanged += s => writableWakes += s.Connection!.CanWrite ? 1 : 0;

        for (int sacked = 1; sacked <= 9 && 2 * socket.Connection!.NotSentBytes >= 4000; sacked++)
        {
            var options = new TcpOptions { SackCount = 1 };
            options.Sacks[0] = new SackBlock(first + Mss, first + Mss * (1 + sacked));
            peer.Send(TcpFlags.Ack, first, options: options);
        }

        Assert.True(socket.Connection!.InRecovery);
        Assert.True(2 * socket.Connection.NotSentBytes < 4000, $"{socket.Connection.NotSentBytes} B still unsent");
        Assert.True(socket.Connection.CanWrite);
        Assert.True(writableWakes > 0, "the writer was not woken");
        int room = 4000 - socket.Connection.NotSentBytes;
        Assert.Equal(room, socket.Send(new byte[4000], out SocketError error)); // the write it was woken for goes, to the watermark
        Assert.Equal(SocketError.Success, error);
    }

    [Fact]
    public void The_sysctl_sets_the_default_and_unlimited_changes_nothing()
    {
        (TcpPeer limited, NetSocket capped) = Connected(stackLowat: 2000);
        Assert.Equal(12_000, capped.Send(new byte[30_000], out _));
        Assert.Equal(10, DataSegments(limited));

        (_, NetSocket unlimited) = Connected();
        Assert.Equal(30_000, unlimited.Send(new byte[30_000], out _));
    }

    [Fact]
    public void A_blocking_write_waits_for_the_limit_and_returns_its_count_at_the_send_timeout()
    {
        (TcpPeer peer, NetSocket socket) = Connected(socketLowat: 4000);
        socket.Blocking = true;
        socket.SendTimeout = TimeSpan.FromMilliseconds(150); // within the RTO: the peer never acknowledges

        int n = socket.Send(new byte[30_000], out SocketError error);

        Assert.Equal(14_000, n); // it waited (virtual time), not spun, and reports the partial count
        Assert.Equal(SocketError.Success, error);
        Assert.True(peer.Harness.Now.TotalMilliseconds >= 150);
    }

    [Fact]
    public void A_negative_value_is_unlimited_and_reads_back_as_given()
    {
        (_, NetSocket socket) = Connected(socketLowat: -1);

        Assert.Equal(-1, socket.GetSocketOption(LinuxSocketOption.TcpNotSentLowat));
        Assert.Equal(30_000, socket.Send(new byte[30_000], out _));
    }
}
