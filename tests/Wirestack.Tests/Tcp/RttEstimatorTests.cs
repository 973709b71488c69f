using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

public class RttEstimatorTests
{
    private static RttEstimator Rfc() => new(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(120));

    private static RttEstimator Linux() => new(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(120), linux: true);

    private static TimeSpan Ms(double ms) => TimeSpan.FromTicks((long)Math.Round(ms * TimeSpan.TicksPerMillisecond));

    [Fact]
    [Trait("Rfc", "6298 §2.1")]
    public void Before_any_sample_the_rto_is_the_initial_one()
    {
        var rtt = Rfc();
        Assert.Equal(TimeSpan.FromSeconds(1), rtt.Rto);
        Assert.Equal(TimeSpan.FromSeconds(1), rtt.CurrentRto);
        Assert.Null(rtt.SmoothedRtt);
        Assert.Null(rtt.RttVariance);
        Assert.Null(rtt.LatestRtt);
        Assert.Null(rtt.MinRtt);
        Assert.Equal(0, rtt.Backoff);
    }

    [Fact]
    [Trait("Rfc", "6298 §2.2")]
    public void First_sample_sets_srtt_to_r_and_rttvar_to_half_r()
    {
        var rtt = Rfc();
        rtt.AddSample(Ms(100));

        Assert.Equal(Ms(100), rtt.SmoothedRtt);
        Assert.Equal(Ms(50), rtt.RttVariance);
        // RTO = SRTT + max(G, K*RTTVAR) = 100 + max(1, 200) = 300 ms.
        Assert.Equal(Ms(300), rtt.Rto);
        Assert.Equal(Ms(100), rtt.LatestRtt);
        Assert.Equal(Ms(100), rtt.MinRtt);
    }

    [Fact]
    [Trait("Rfc", "6298 §2.3")]
    public void Later_samples_follow_the_ewma_with_rttvar_updated_first()
    {
        var rtt = Rfc();
        rtt.AddSample(Ms(100));

        // R' = 200: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5;
        // RTO = 112.5 + 4 * 62.5 = 362.5 ms.
        rtt.AddSample(Ms(200));
        Assert.Equal(Ms(62.5), rtt.RttVariance);
        Assert.Equal(Ms(112.5), rtt.SmoothedRtt);
        Assert.Equal(Ms(362.5), rtt.Rto);

        // R' = 80: RTTVAR = 3/4 * 62.5 + 1/4 * |112.5 - 80| = 55; SRTT = 7/8 * 112.5 + 1/8 * 80 = 108.4375;
        // RTO = 108.4375 + 220 = 328.4375 ms.
        rtt.AddSample(Ms(80));
        Assert.Equal(Ms(55), rtt.RttVariance);
        Assert.Equal(Ms(108.4375), rtt.SmoothedRtt);
        Assert.Equal(Ms(328.4375), rtt.Rto);

        Assert.Equal(Ms(80), rtt.LatestRtt);
        Assert.Equal(Ms(80), rtt.MinRtt);
        Assert.Equal(3, rtt.SampleCount);
    }

    [Fact]
    [Trait("Rfc", "6298 §2.4")]
    public void Rto_is_clamped_to_the_minimum()
    {
        var rtt = Rfc();
        rtt.AddSample(Ms(10)); // 10 + 20 = 30 ms
        Assert.Equal(Ms(200), rtt.Rto);
        Assert.Equal(Ms(10), rtt.SmoothedRtt);
    }

    [Fact]
    [Trait("Rfc", "6298 §2.5")]
    public void Rto_is_clamped_to_the_maximum()
    {
        var rtt = Rfc();
        rtt.AddSample(TimeSpan.FromSeconds(100)); // 100 + 200 = 300 s
        Assert.Equal(TimeSpan.FromSeconds(120), rtt.Rto);
    }

    [Fact]
    [Trait("Rfc", "6298 §2")]
    public void Clock_granularity_floors_the_variance_term()
    {
        var rtt = new RttEstimator(TimeSpan.FromSeconds(1), TimeSpan.FromMicroseconds(100), TimeSpan.FromSeconds(60));
        rtt.AddSample(TimeSpan.Zero);
        // SRTT = 0, RTTVAR = 0: RTO = 0 + max(G = 1 ms, 0).
        Assert.Equal(Ms(1), rtt.Rto);

        var steady = new RttEstimator(TimeSpan.FromSeconds(1), TimeSpan.FromMicroseconds(100), TimeSpan.FromSeconds(60));
        steady.AddSample(Ms(1)); // 1 + max(1, 2) = 3 ms
        Assert.Equal(Ms(3), steady.Rto);
        for (int i = 0; i < 200; i++)
        {
            steady.AddSample(Ms(1));
        }

        // RTTVAR decays towards 0, so the variance term is G: 1 + 1 = 2 ms.
        Assert.Equal(Ms(2), steady.Rto);
    }

    [Fact]
    [Trait("Rfc", "6298 §5.5")]
    public void Timeouts_double_the_rto_up_to_the_maximum()
    {
        var rtt = Rfc();
        double[] expectedSeconds = [1, 2, 4, 8, 16, 32, 64, 120, 120];
        for (int i = 0; i < expectedSeconds.Length; i++)
        {
            Assert.Equal(i, rtt.Backoff);
            Assert.Equal(TimeSpan.FromSeconds(expectedSeconds[i]), rtt.CurrentRto);
            rtt.OnTimeout();
        }

        // The base RTO is untouched by backoff.
        Assert.Equal(TimeSpan.FromSeconds(1), rtt.Rto);
    }

    [Fact]
    [Trait("Rfc", "6298 §5.5")]
    public void Backoff_never_overflows()
    {
        var rtt = Rfc();
        rtt.AddSample(Ms(100));
        for (int i = 0; i < 10_000; i++)
        {
            rtt.OnTimeout();
            Assert.True(rtt.CurrentRto <= TimeSpan.FromSeconds(120));
            Assert.True(rtt.CurrentRto >= Ms(300));
        }

        Assert.Equal(10_000, rtt.Backoff);
        Assert.Equal(TimeSpan.FromSeconds(120), rtt.CurrentRto);
    }

    [Fact]
    [Trait("Rfc", "6298 §5.7")]
    public void A_sample_or_reset_ends_the_backoff()
    {
        var rtt = Rfc();
        rtt.AddSample(Ms(100));
        rtt.OnTimeout();
        rtt.OnTimeout();
        Assert.Equal(Ms(1200), rtt.CurrentRto);

        rtt.AddSample(Ms(100));
        Assert.Equal(0, rtt.Backoff);
        Assert.Equal(rtt.Rto, rtt.CurrentRto);

        rtt.OnTimeout();
        rtt.ResetBackoff();
        Assert.Equal(0, rtt.Backoff);
        Assert.Equal(rtt.Rto, rtt.CurrentRto);
    }

    [Fact]
    [Trait("Rfc", "6298 §2")]
    public void Min_rtt_tracks_the_smallest_sample_and_negative_samples_are_ignored()
    {
        var rtt = Rfc();
        rtt.AddSample(Ms(50));
        rtt.AddSample(Ms(30));
        rtt.AddSample(Ms(70));
        Assert.Equal(Ms(30), rtt.MinRtt);
        Assert.Equal(Ms(70), rtt.LatestRtt);

        TimeSpan? srtt = rtt.SmoothedRtt;
        rtt.AddSample(Ms(-5));
        Assert.Equal(srtt, rtt.SmoothedRtt);
        Assert.Equal(3, rtt.SampleCount);
    }

    [Fact]
    public void Reset_forgets_samples()
    {
        var rtt = Rfc();
        rtt.AddSample(Ms(100));
        rtt.OnTimeout();
        rtt.Reset();
        Assert.Null(rtt.SmoothedRtt);
        Assert.Equal(TimeSpan.FromSeconds(1), rtt.Rto);
        Assert.Equal(0, rtt.Backoff);
    }

    [Fact]
    public void Bad_bounds_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RttEstimator(TimeSpan.FromSeconds(1), TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RttEstimator(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RttEstimator(TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)));
    }

    // ---- Linux's estimator (tcp_rtt_estimator, __tcp_set_rto), the Linux profile's ---------------------------------

    private static SeqNumber Seq(uint value) => new(value);

    [Fact]
    public void Linux_first_sample_gives_srtt_plus_the_200ms_floor_and_reports_mdev_over_four()
    {
        var rtt = Linux();
        rtt.AddSample(Ms(10), Seq(1001), Seq(1001));

        Assert.Equal(Ms(10), rtt.SmoothedRtt);
        Assert.Equal(Ms(5), rtt.RttVariance);  // tcpi_rttvar = mdev_us >> 2, mdev = 2 × 10 ms
        Assert.Equal(Ms(210), rtt.Rto);        // 10 ms + rttvar_us = max(20 ms, 200 ms): ss shows rto:210
    }

    [Fact]
    public void Linux_rto_is_rounded_up_to_a_whole_millisecond()
    {
        var rtt = Linux();
        rtt.AddSample(TimeSpan.FromMicroseconds(100), Seq(1001), Seq(1001));

        Assert.Equal(Ms(201), rtt.Rto); // 200.1 ms in jiffies: a loopback connection's rto:201
    }

    [Fact]
    public void On_a_steady_path_linux_keeps_srtt_plus_200ms_where_rfc_6298_falls_to_the_floor()
    {
        RttEstimator linux = Linux(), rfc = Rfc();
        for (uint round = 1; round <= 20; round++)
        {
            // one sample per round trip: SND.UNA passes the sequence sent when the last round began
            linux.AddSample(Ms(100), Seq(1000 * round + 1), Seq(1000 * round + 500));
            rfc.AddSample(Ms(100));
        }

        Assert.Equal(Ms(300), linux.Rto);
        Assert.Equal(Ms(200), rfc.Rto);
    }

    [Fact]
    public void Linux_rttvar_jumps_to_a_new_deviation_and_decays_a_quarter_per_round_trip()
    {
        var rtt = Linux();
        rtt.AddSample(Ms(100), Seq(1001), Seq(1001));   // srtt 100, mdev 200, rttvar 200: RTO 300
        Assert.Equal(Ms(300), rtt.Rto);

        rtt.AddSample(Ms(300), Seq(2001), Seq(3001));   // error +200: srtt 125, mdev 350 → rttvar 350
        Assert.Equal(Ms(125), rtt.SmoothedRtt);
        Assert.Equal(Ms(475), rtt.Rto);

        rtt.AddSample(Ms(125), Seq(4001), Seq(5001));   // mdev 262.5 this round: rttvar 350 - (350 - 262.5) / 4
        Assert.Equal(Ms(454), rtt.Rto);                 // 125 + 328.125 = 453.125, rounded up
    }

    [Fact]
    public void Linux_samples_within_one_round_trip_do_not_decay_rttvar()
    {
        var rtt = Linux();
        rtt.AddSample(Ms(100), Seq(1001), Seq(5001));   // the round ends when SND.UNA passes 5001
        rtt.AddSample(Ms(300), Seq(2001), Seq(5001));
        rtt.AddSample(Ms(125), Seq(3001), Seq(5001));

        // rttvar took the round's largest mdev (350 ms) and has not decayed: 125 + 350.
        Assert.Equal(Ms(475), rtt.Rto);
    }
}
