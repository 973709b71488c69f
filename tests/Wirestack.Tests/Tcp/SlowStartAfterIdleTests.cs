using Wirestack.Sockets;
using Wirestack.Tcp.Congestion;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>RFC 5681 §4.1 restart after idle, as Linux's tcp_slow_start_after_idle (default 1) does it: a write after
/// more than an RTO without sending, with nothing in flight, starts from the restart window; cwnd halves per RTO of
/// idle time down to RW = min(IW, cwnd), and ssthresh keeps three quarters of the old window.</summary>
public sealed class SlowStartAfterIdleTests
{
    private const int Mss = 1000;

    /// <summary>A server socket whose cwnd has grown to 40 segments by two slow-start rounds of 10 ms, with
    /// everything acknowledged (RTO 200 ms, the minimum, from 10 ms samples).</summary>
    private static (TcpPeer Peer, NetSocket Socket) Warmed(bool slowStartAfterIdle)
    {
        (TcpPeer peer, NetSocket socket) = TcpPeer.LinuxSender(Mss, sack: true, tcp => tcp.SlowStartAfterIdle = slowStartAfterIdle);
        Assert.Equal(30_000, socket.Send(new byte[30_000]));
        Assert.Equal(10, DataSegments(peer)); // RFC 6928 initial window
        peer.Harness.Advance(TimeSpan.FromMilliseconds(10));
        peer.Send(TcpFlags.Ack, Data(peer, 10));
        Assert.Equal(20, DataSegments(peer));
        peer.Harness.Advance(TimeSpan.FromMilliseconds(10));
        peer.Send(TcpFlags.Ack, Data(peer, 30));
        peer.ExpectNothing();
        Assert.Equal(40 * Mss, socket.Connection!.Congestion!.Cwnd);
        Assert.Equal(0, socket.Connection.FlightSize);
        return (peer, socket);
    }

    private static SeqNumber Data(TcpPeer peer, int segments) => peer.StackIss + 1 + segments * Mss;

    private static int DataSegments(TcpPeer peer) => peer.Sent().Count(s => s.PayloadLength > 0);

    [Theory]
    [Trait("Rfc", "5681 §4.1")]
    [InlineData(1000, 10)] // 5 RTOs: 40 → 20 → 10, held at RW = IW = 10
    [InlineData(300, 20)]  // 1.5 RTOs: one halving
    public void A_write_after_an_idle_stretch_longer_than_the_rto_starts_from_the_restart_window(int idleMs, int cwndSegments)
    {
        (TcpPeer peer, NetSocket socket) = Warmed(slowStartAfterIdle: true);

        peer.Harness.Advance(TimeSpan.FromMilliseconds(idleMs));
        Assert.Equal(60_000, socket.Send(new byte[60_000]));

        Assert.Equal(cwndSegments, DataSegments(peer));
        Assert.Equal(cwndSegments * Mss, socket.Connection!.Congestion!.Cwnd);
        // No loss yet: ssthresh is still "arbitrarily high", and max(ssthresh, ¾ cwnd) keeps it so.
        Assert.Equal(int.MaxValue, socket.Connection.Congestion.Ssthresh);
    }

    [Fact]
    [Trait("Rfc", "5681 §4.1")]
    public void A_write_within_the_rto_keeps_the_window()
    {
        (TcpPeer peer, NetSocket socket) = Warmed(slowStartAfterIdle: true);

        peer.Harness.Advance(TimeSpan.FromMilliseconds(150));
        Assert.Equal(60_000, socket.Send(new byte[60_000]));

        Assert.Equal(40, DataSegments(peer));
    }

    [Fact]
    public void With_tcp_slow_start_after_idle_0_the_window_survives_any_idle_time()
    {
        (TcpPeer peer, NetSocket socket) = Warmed(slowStartAfterIdle: false);

        peer.Harness.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(60_000, socket.Send(new byte[60_000]));

        Assert.Equal(40, DataSegments(peer));
        Assert.Equal(40 * Mss, socket.Connection!.Congestion!.Cwnd);
    }

    [Theory]
    [InlineData(40, 20, 1000, 200, 10, 30)]  // halvings stop at RW = 10 segments; ssthresh raised to ¾ of 40
    [InlineData(40, 20, 300, 200, 20, 30)]   // idle 1.5 RTO: one halving (the loop halves while RTOs remain)
    [InlineData(40, 35, 1000, 200, 10, 35)]  // ssthresh already above ¾ cwnd is kept
    [InlineData(40, -1, 1000, 200, 10, -1)]  // an "arbitrarily high" ssthresh (no loss yet) stays so
    [InlineData(4, 2, 10_000, 200, 4, 3)]    // cwnd below IW: RW = cwnd, nothing halves; ssthresh ¾ of 4
    public void Restart_arithmetic_is_linux_tcp_cwnd_restart(int cwnd, int ssthresh, int idleMs, int rtoMs, int expectCwnd, int expectSsthresh)
    {
        int ssthreshBytes = ssthresh < 0 ? int.MaxValue : ssthresh * Mss;
        (int newCwnd, int newSsthresh) = CongestionControl.RestartAfterIdle(cwnd * Mss, ssthreshBytes, Mss,
            TimeSpan.FromMilliseconds(idleMs), TimeSpan.FromMilliseconds(rtoMs));

        Assert.Equal(expectCwnd * Mss, newCwnd);
        Assert.Equal(expectSsthresh < 0 ? int.MaxValue : expectSsthresh * Mss, newSsthresh);
    }
}
