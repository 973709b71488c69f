using Wirestack.Tcp.Congestion;
using Wirestack.Time;

namespace Wirestack.Tests.Tcp;

public class NewRenoTests
{
    private const int Mss = 1000;
    private static readonly Instant T0 = Instant.FromSeconds(1);

    private static NewReno Started()
    {
        var reno = new NewReno();
        reno.Initialize(Mss, T0);
        return reno;
    }

    [Fact]
    [Trait("Rfc", "6928 §2")]
    public void Initial_window_is_ten_segments_and_ssthresh_is_unbounded()
    {
        var reno = Started();
        Assert.Equal("reno", reno.Name);
        Assert.Equal(10 * Mss, reno.Cwnd);
        Assert.Equal(int.MaxValue, reno.Ssthresh);
        Assert.True(reno.InSlowStart);
    }

    [Fact]
    [Trait("Rfc", "5681 §3.1")]
    public void Slow_start_grows_by_every_byte_delivered_without_a_per_ack_limit_as_linux()
    {
        var reno = Started();
        Assert.Equal(0, reno.AbcLimit);
        reno.OnAck(Mss, 10 * Mss, null, T0);
        Assert.Equal(11 * Mss, reno.Cwnd);

        // Linux tcp_slow_start: a stretch ACK of 5 segments grows cwnd by 5 segments.
        reno.OnAck(5 * Mss, 10 * Mss, null, T0);
        Assert.Equal(16 * Mss, reno.Cwnd);

        // No new data delivered: no growth.
        reno.OnAck(0, 10 * Mss, null, T0);
        Assert.Equal(16 * Mss, reno.Cwnd);
    }

    [Fact]
    [Trait("Rfc", "5681 §3.1")]
    [Trait("Rfc", "3465 §2.2")]
    public void Slow_start_with_abc_grows_by_bytes_acked_up_to_two_segments_per_ack_as_freebsd()
    {
        var reno = new NewReno(abcLimit: 2);
        reno.Initialize(Mss, T0);
        reno.OnAck(Mss, 10 * Mss, null, T0);
        Assert.Equal(11 * Mss, reno.Cwnd);

        reno.OnAck(500, 10 * Mss, null, T0);
        Assert.Equal(11 * Mss + 500, reno.Cwnd);

        // A stretch ACK of 5 segments grows cwnd by at most L = 2 * SMSS.
        reno.OnAck(5 * Mss, 10 * Mss, null, T0);
        Assert.Equal(13 * Mss + 500, reno.Cwnd);

        // No new data acknowledged: no growth.
        reno.OnAck(0, 10 * Mss, null, T0);
        Assert.Equal(13 * Mss + 500, reno.Cwnd);
    }

    [Fact]
    [Trait("Rfc", "5681 §3.1")]
    public void Slow_start_stops_at_ssthresh_and_carries_the_rest_of_the_ack_into_congestion_avoidance()
    {
        var reno = Started();
        reno.OnRetransmitTimeout(20 * Mss, T0); // cwnd 1, ssthresh 10 segments

        // Linux tcp_slow_start returns what went past ssthresh: 9 segments reach it, 6 go to congestion avoidance.
        reno.OnAck(15 * Mss, Mss, null, T0);
        Assert.Equal(10 * Mss, reno.Cwnd);
        Assert.False(reno.InSlowStart);

        // So 4 more segments (not 10) complete the window's worth that adds a segment.
        for (int i = 0; i < 3; i++)
        {
            reno.OnAck(Mss, 10 * Mss, null, T0);
            Assert.Equal(10 * Mss, reno.Cwnd);
        }

        reno.OnAck(Mss, 10 * Mss, null, T0);
        Assert.Equal(11 * Mss, reno.Cwnd);

        // With ABC nothing is carried over, and the stretch ACK grows cwnd by L = 2 segments only.
        var abc = new NewReno(abcLimit: 2);
        abc.Initialize(Mss, T0);
        abc.OnRetransmitTimeout(20 * Mss, T0);
        abc.OnAck(15 * Mss, Mss, null, T0);
        Assert.Equal(3 * Mss, abc.Cwnd);
    }

    [Fact]
    public void Abc_limit_is_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NewReno(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Cubic(CongestionControl.MaxAbcLimit + 1));
        Assert.Equal(2, ((NewReno)CongestionControl.Create("reno", 2)).AbcLimit);
        Assert.Equal(2, ((Cubic)CongestionControl.Create("cubic", 2)).AbcLimit);
    }

    [Fact]
    [Trait("Rfc", "5681 §3.2")]
    public void Congestion_event_halves_the_flight_with_a_floor_of_two_segments()
    {
        var reno = Started();
        reno.OnCongestionEvent(20 * Mss, T0);
        Assert.Equal(10 * Mss, reno.Ssthresh);
        Assert.Equal(10 * Mss, reno.Cwnd);

        var small = Started();
        small.OnCongestionEvent(3 * Mss, T0);
        Assert.Equal(2 * Mss, small.Ssthresh);
        Assert.Equal(2 * Mss, small.Cwnd);
    }

    [Fact]
    [Trait("Rfc", "5681 §3.1")]
    [Trait("Rfc", "3465 §2.1")]
    public void Congestion_avoidance_adds_one_segment_per_window_of_acked_bytes()
    {
        var reno = Started();
        reno.OnCongestionEvent(20 * Mss, T0); // cwnd = ssthresh = 10 segments
        Assert.False(reno.InSlowStart);

        for (int i = 0; i < 9; i++)
        {
            reno.OnAck(Mss, 10 * Mss, null, T0);
            Assert.Equal(10 * Mss, reno.Cwnd);
        }

        reno.OnAck(Mss, 10 * Mss, null, T0);
        Assert.Equal(11 * Mss, reno.Cwnd);

        // The next increase needs a full 11 segments' worth of ACKs.
        for (int i = 0; i < 10; i++)
        {
            reno.OnAck(Mss, 11 * Mss, null, T0);
        }

        Assert.Equal(11 * Mss, reno.Cwnd);
        reno.OnAck(Mss, 11 * Mss, null, T0);
        Assert.Equal(12 * Mss, reno.Cwnd);
    }

    [Fact]
    [Trait("Rfc", "6582 §3.2")]
    public void Recovery_complete_deflates_an_inflated_window_to_ssthresh()
    {
        var reno = Started();
        reno.OnCongestionEvent(20 * Mss, T0);
        reno.Cwnd = reno.Ssthresh + 3 * Mss; // the connection inflates for the dupacks
        reno.Cwnd += 2 * Mss;
        Assert.Equal(15 * Mss, reno.Cwnd);

        reno.OnRecoveryComplete(T0);
        Assert.Equal(10 * Mss, reno.Cwnd);
        Assert.Equal(10 * Mss, reno.Ssthresh);
    }

    [Fact]
    [Trait("Rfc", "5681 §3.1")]
    public void Timeout_sets_the_loss_window_and_slow_start_climbs_back_to_ssthresh()
    {
        var reno = Started();
        reno.OnRetransmitTimeout(20 * Mss, T0);
        Assert.Equal(Mss, reno.Cwnd);
        Assert.Equal(10 * Mss, reno.Ssthresh);

        int[] expected = [2, 3, 4, 5, 6, 7, 8, 9, 10, 10];
        foreach (int segments in expected)
        {
            reno.OnAck(Mss, Mss, null, T0);
            Assert.Equal(segments * Mss, reno.Cwnd);
        }

        Assert.False(reno.InSlowStart);
    }

    [Fact]
    [Trait("Rfc", "5681 §3.1")]
    public void A_repeated_timeout_holds_ssthresh_until_new_data_is_acked()
    {
        var reno = Started();
        reno.OnRetransmitTimeout(20 * Mss, T0);
        reno.OnRetransmitTimeout(Mss, T0);
        Assert.Equal(10 * Mss, reno.Ssthresh);
        Assert.Equal(Mss, reno.Cwnd);

        reno.OnAck(Mss, Mss, null, T0);
        reno.OnRetransmitTimeout(2 * Mss, T0);
        Assert.Equal(2 * Mss, reno.Ssthresh);
    }

    [Fact]
    public void Mss_change_keeps_the_window_in_segments()
    {
        var reno = Started();
        reno.OnCongestionEvent(20 * Mss, T0);
        reno.OnMssChanged(500);
        Assert.Equal(500, reno.Mss);
        Assert.Equal(10 * 500, reno.Cwnd);
        Assert.Equal(10 * 500, reno.Ssthresh);

        var fresh = Started();
        fresh.OnMssChanged(1460);
        Assert.Equal(10 * 1460, fresh.Cwnd);
        Assert.Equal(int.MaxValue, fresh.Ssthresh);
    }

    [Fact]
    public void Factory_knows_the_linux_names()
    {
        Assert.IsType<Cubic>(CongestionControl.Create("cubic"));
        Assert.IsType<NewReno>(CongestionControl.Create("reno"));
        Assert.IsType<NewReno>(CongestionControl.Create("newreno"));
        Assert.IsType<NewReno>(CongestionControl.Create("Reno"));
        Assert.Equal("cubic", CongestionControl.Create(CongestionControl.DefaultName).Name);
        Assert.Throws<ArgumentException>(() => CongestionControl.Create("bbr"));
        Assert.Throws<ArgumentException>(() => CongestionControl.Create(""));
    }
}
