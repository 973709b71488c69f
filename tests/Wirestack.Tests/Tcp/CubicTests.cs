using Wirestack.Diagnostics;
using Wirestack.Tcp;
using Wirestack.Tcp.Congestion;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

public class CubicTests
{
    private const int Mss = 1000;
    private static readonly Instant T0 = Instant.FromSeconds(10);
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(100);

    /// <summary>A CUBIC sender that has just left recovery after a loss at a window of <paramref name="wMax"/>
    /// segments with a full flight.</summary>
    private static Cubic AfterLossAt(int wMax)
    {
        var cubic = new Cubic();
        cubic.Initialize(Mss, T0);
        cubic.Cwnd = wMax * Mss;
        cubic.OnCongestionEvent(wMax * Mss, T0);
        cubic.OnRecoveryComplete(T0);
        return cubic;
    }

    [Fact]
    [Trait("Rfc", "9438 §4.6")]
    public void Congestion_event_sets_cwnd_to_beta_times_flight_and_records_w_max()
    {
        var cubic = new Cubic();
        cubic.Initialize(Mss, T0);
        Assert.Equal("cubic", cubic.Name);
        Assert.Equal(10 * Mss, cubic.Cwnd);
        Assert.Equal(int.MaxValue, cubic.Ssthresh);

        cubic.Cwnd = 100 * Mss;
        cubic.OnCongestionEvent(100 * Mss, T0);
        Assert.Equal(70 * Mss, cubic.Ssthresh);
        Assert.Equal(70 * Mss, cubic.Cwnd);
        Assert.Equal(100, cubic.WMax);
        Assert.Equal(100, cubic.CwndPrior);

        // ssthresh follows the flight, not cwnd, with a floor of 2 segments.
        var appLimited = new Cubic();
        appLimited.Initialize(Mss, T0);
        appLimited.Cwnd = 100 * Mss;
        appLimited.OnCongestionEvent(40 * Mss, T0);
        Assert.Equal(28 * Mss, appLimited.Ssthresh);
        appLimited.OnCongestionEvent(Mss, T0);
        Assert.Equal(2 * Mss, appLimited.Ssthresh);
    }

    [Fact]
    [Trait("Rfc", "9438 §4.7")]
    public void Fast_convergence_lowers_w_max_when_the_loss_comes_below_the_last_plateau()
    {
        Cubic cubic = AfterLossAt(100);
        cubic.Cwnd = 80 * Mss;
        cubic.OnCongestionEvent(80 * Mss, T0);
        Assert.Equal(80 * (1 + 0.7) / 2, cubic.WMax, 9);
        Assert.Equal(56 * Mss, cubic.Cwnd);

        // A loss above the plateau just records the new maximum.
        cubic.Cwnd = 90 * Mss;
        cubic.OnCongestionEvent(90 * Mss, T0);
        Assert.Equal(90, cubic.WMax, 9);
    }

    [Fact]
    [Trait("Rfc", "9438 §4.2")]
    public void Epoch_starts_at_the_first_ack_and_k_follows_figure_2()
    {
        Cubic cubic = AfterLossAt(100);
        Assert.Null(cubic.EpochStart);

        Instant t1 = T0 + TimeSpan.FromMilliseconds(250);
        cubic.OnAck(Mss, 70 * Mss, Rtt, t1);
        Assert.Equal(t1, cubic.EpochStart);
        Assert.Equal(70, cubic.CwndEpoch, 9);
        // K = cbrt(W_max (1 - beta) / C) = cbrt(100 * 0.3 / 0.4) = cbrt(75) ~ 4.2172 s.
        Assert.Equal(Math.Cbrt(75), cubic.K, 9);
        Assert.Equal(4.2172, cubic.K, 4);
        // W_cubic(0) = cwnd_epoch and W_cubic(K) = W_max.
        Assert.Equal(70, cubic.WCubic(0), 9);
        Assert.Equal(100, cubic.WCubic(cubic.K), 9);
        Assert.Equal(0, Cubic.ComputeK(50, 60));
    }

    [Fact]
    [Trait("Rfc", "9438 §4.4")]
    public void One_ack_in_the_concave_region_moves_cwnd_by_target_minus_cwnd_over_cwnd()
    {
        Cubic cubic = AfterLossAt(100);
        cubic.OnAck(Mss, 70 * Mss, Rtt, T0); // epoch start; t = 0 is in the Reno-friendly region
        int cwndBefore = cubic.Cwnd;
        double wEstBefore = cubic.WEst;

        Instant t1 = T0 + TimeSpan.FromSeconds(1);
        cubic.OnAck(Mss, 70 * Mss, Rtt, t1);

        // Hand computation from the RFC formulas, independent of the class.
        double k = Math.Cbrt(100 * (1 - 0.7) / 0.4);
        double wEst = wEstBefore + 3 * (1 - 0.7) / (1 + 0.7) * Mss / cwndBefore;
        double wCubicT = 0.4 * Math.Pow(1.0 - k, 3) + 100;
        Assert.True(wCubicT > wEst, "at t = 1 s the cubic is above the Reno estimate");
        double cwndSegments = cwndBefore / (double)Mss;
        double target = Math.Clamp(0.4 * Math.Pow(1.1 - k, 3) + 100, cwndSegments, 1.5 * cwndSegments);
        double growth = (target - cwndSegments) / cwndSegments * Mss;
        Assert.Equal(cwndBefore + (int)Math.Floor(growth), cubic.Cwnd);
        Assert.Equal(wEst, cubic.WEst, 9);
        Assert.True(cubic.Cwnd < 100 * Mss);
    }

    [Fact]
    [Trait("Rfc", "9438 §4.4")]
    [Trait("Rfc", "9438 §4.5")]
    public void Ack_clocked_growth_follows_the_cubic_concave_then_convex_around_w_max()
    {
        const int wMax = 1000;
        Cubic cubic = AfterLossAt(wMax);
        double k = Math.Cbrt(wMax * 0.3 / 0.4); // ~9.09 s
        var samples = new List<(double T, double Segments)>();

        Instant now = T0;
        Instant? epoch = null;
        for (int round = 0; round < 200; round++)
        {
            int acks = cubic.Cwnd / Mss;
            for (int i = 0; i < acks; i++)
            {
                Instant at = now + Rtt * i / acks;
                cubic.OnAck(Mss, cubic.Cwnd, Rtt, at);
                epoch ??= cubic.EpochStart;
            }

            now += Rtt;
            samples.Add(((now - epoch!.Value).TotalSeconds, cubic.Cwnd / (double)Mss));
        }

        Assert.Equal(k, cubic.K, 9);

        // The window tracks W_cubic(t) (it aims one RTT ahead): within 3% once past the first second.
        foreach ((double t, double segments) in samples.Where(s => s.T > 1.0))
        {
            double expected = 0.4 * Math.Pow(t - k, 3) + wMax;
            Assert.InRange(segments, expected * 0.97, expected * 1.03 + 2);
        }

        double At(double t) => samples.First(s => s.T >= t).Segments;

        // Concave: below W_max and slowing down as t approaches K.
        Assert.True(At(k - 1) < wMax);
        double early = At(2) - At(0.5);
        double middle = At(5) - At(3.5);
        double late = At(8.5) - At(7);
        Assert.True(early > middle && middle > late, $"concave growth {early} > {middle} > {late}");

        // Plateau at W_max around K.
        Assert.InRange(At(k), wMax * 0.99, wMax * 1.01);

        // Convex: above W_max and speeding up.
        Assert.True(At(k + 1) > wMax);
        double first = At(k + 2.5) - At(k + 1);
        double second = At(k + 5) - At(k + 3.5);
        double third = At(k + 8) - At(k + 6.5);
        Assert.True(first < second && second < third, $"convex growth {first} < {second} < {third}");
    }

    [Fact]
    [Trait("Rfc", "9438 §4.3")]
    public void Reno_friendly_region_sets_cwnd_to_w_est_and_alpha_becomes_one_past_cwnd_prior()
    {
        Cubic cubic = AfterLossAt(10); // cwnd = 7 segments, W_max = cwnd_prior = 10
        Instant now = T0; // time stands still: W_cubic(0) = cwnd_epoch, so the Reno estimate dominates

        double RunRound()
        {
            double before = cubic.WEst;
            int acks = cubic.Cwnd / Mss;
            for (int i = 0; i < acks; i++)
            {
                cubic.OnAck(Mss, cubic.Cwnd, Rtt, now);
            }

            return cubic.WEst - before;
        }

        RunRound();
        // First round: W_est = 7 + alpha_cubic * (about one window acked / cwnd) ~ 7.53.
        Assert.InRange(cubic.WEst, 7.0 + 0.5, 7.0 + 0.56);
        Assert.Equal((int)(cubic.WEst * Mss), cubic.Cwnd);
        Assert.Equal(7, cubic.WCubic(0), 9);

        while (cubic.WEst < cubic.CwndPrior)
        {
            double growth = RunRound();
            if (cubic.WEst < cubic.CwndPrior)
            {
                Assert.InRange(growth, 0.45, 0.56); // alpha_cubic = 0.529 per window
            }
        }

        double renoGrowth = RunRound();
        Assert.InRange(renoGrowth, 0.9, 1.1); // alpha = 1 per window, like Reno
        Assert.Equal((int)(cubic.WEst * Mss), cubic.Cwnd);
    }

    [Fact]
    [Trait("Rfc", "9438 §4.8")]
    public void Timeout_sets_the_loss_window_and_restarts_the_epoch_with_k_zero()
    {
        Cubic cubic = AfterLossAt(100);
        cubic.OnAck(Mss, 70 * Mss, Rtt, T0);
        Assert.NotNull(cubic.EpochStart);

        cubic.Cwnd = 100 * Mss;
        cubic.OnRetransmitTimeout(100 * Mss, T0);
        Assert.Equal(Mss, cubic.Cwnd);
        Assert.Equal(70 * Mss, cubic.Ssthresh);
        Assert.Null(cubic.EpochStart);

        // A second timeout of the same data holds ssthresh.
        cubic.OnRetransmitTimeout(Mss, T0);
        Assert.Equal(70 * Mss, cubic.Ssthresh);

        // Slow start back to ssthresh.
        Instant now = T0 + TimeSpan.FromSeconds(1);
        while (cubic.Cwnd < cubic.Ssthresh)
        {
            int before = cubic.Cwnd;
            cubic.OnAck(Mss, cubic.Cwnd, Rtt, now);
            Assert.Equal(Math.Min(before + Mss, 70 * Mss), cubic.Cwnd);
        }

        Assert.Null(cubic.EpochStart);
        cubic.OnAck(Mss, cubic.Cwnd, Rtt, now);
        Assert.Equal(now, cubic.EpochStart);
        Assert.Equal(0, cubic.K);
        Assert.Equal(70, cubic.WMax, 9);
        Assert.Equal(70, cubic.CwndEpoch, 9);
    }

    [Fact]
    [Trait("Rfc", "9438 §4.10")]
    public void Slow_start_is_renos_as_linux_without_a_per_ack_limit()
    {
        var cubic = new Cubic();
        cubic.Initialize(Mss, T0);
        cubic.OnAck(Mss, 0, Rtt, T0);
        Assert.Equal(11 * Mss, cubic.Cwnd);
        cubic.OnAck(10 * Mss, 0, Rtt, T0);
        Assert.Equal(21 * Mss, cubic.Cwnd);
        Assert.Equal(Rtt, cubic.MinRtt);
    }

    [Fact]
    [Trait("Rfc", "9438 §4.10")]
    [Trait("Rfc", "3465 §2.2")]
    public void Slow_start_with_abc_grows_at_most_two_segments_per_ack()
    {
        var cubic = new Cubic(abcLimit: 2);
        cubic.Initialize(Mss, T0);
        cubic.OnAck(Mss, 0, Rtt, T0);
        Assert.Equal(11 * Mss, cubic.Cwnd);
        cubic.OnAck(10 * Mss, 0, Rtt, T0);
        Assert.Equal(13 * Mss, cubic.Cwnd);
    }

    [Fact]
    [Trait("Rfc", "9438 §4.10")]
    public void Slow_start_carries_the_ack_beyond_ssthresh_into_congestion_avoidance()
    {
        Cubic cubic = AfterLossAt(100);
        cubic.Cwnd = 100 * Mss;
        cubic.OnRetransmitTimeout(100 * Mss, T0); // cwnd 1, ssthresh 70 segments
        Instant now = T0 + TimeSpan.FromSeconds(1);

        // 69 segments reach ssthresh; as Linux's cubictcp_cong_avoid, the other 11 start congestion avoidance.
        cubic.OnAck(80 * Mss, Mss, Rtt, now);
        Assert.InRange(cubic.Cwnd, 70 * Mss, 71 * Mss - 1);
        Assert.Equal(now, cubic.EpochStart);
        Assert.Equal(70, cubic.CwndEpoch, 9);
        Assert.True(cubic.WEst > 70, $"W_est {cubic.WEst} did not grow with the 11 segments left over");
    }

    [Fact]
    public void Mss_change_keeps_the_window_in_segments()
    {
        Cubic cubic = AfterLossAt(100);
        cubic.OnMssChanged(500);
        Assert.Equal(70 * 500, cubic.Cwnd);
        Assert.Equal(70 * 500, cubic.Ssthresh);
        Assert.Equal(100, cubic.WMax, 9);
    }

    // HyStart (Linux tcp_cubic hystart_update). delay_min is 20 ms; a round ends when SND.UNA passes RoundEnd.
    private static readonly TimeSpan DelayMin = TimeSpan.FromMilliseconds(20);
    private const uint RoundEnd = 1_000_000;

    private static Instant Us(long microseconds) => T0 + TimeSpan.FromMicroseconds(microseconds);

    /// <summary>What the connection passes on an ACK: SND.UNA (below <see cref="RoundEnd"/> unless
    /// <paramref name="newRound"/>), SND.NXT = <see cref="RoundEnd"/>, no pacing rate (no ACK-train cushion).</summary>
    private static AckContext Context(TcpCounters counters, bool newRound = false, long pacingRate = 0, int gso = Mss) =>
        new(new SeqNumber(newRound ? RoundEnd + 1 : 1), new SeqNumber(RoundEnd), pacingRate, gso, counters);

    /// <summary>A CUBIC sender in slow start at <paramref name="segments"/> segments that has seen a 20 ms RTT.</summary>
    private static Cubic InSlowStart(int segments, bool hyStart = true)
    {
        var cubic = new Cubic(0, hyStart);
        cubic.Initialize(Mss, T0);
        cubic.OnAck(0, 0, DelayMin, T0); // delay_min, at 10 segments: below hystart_low_window
        cubic.Cwnd = segments * Mss;
        return cubic;
    }

    [Fact]
    public void Hystart_ack_train_ends_slow_start_once_the_round_lasts_past_half_the_minimum_rtt()
    {
        var counters = new TcpCounters();
        Cubic cubic = InSlowStart(100);
        // The first ACK begins a round (round_start = last_ack = now); ACKs at most 2 ms apart form the train.
        cubic.OnAck(0, 0, DelayMin, Us(0), Context(counters));
        for (int ms = 1; ms <= 10; ms++)
        {
            cubic.OnAck(0, 0, DelayMin, Us(ms * 1000), Context(counters));
        }

        // threshold = (delay_min + hystart_ack_delay) / 2 = 10 ms, without pacing rate; "> threshold" trips.
        Assert.False(cubic.HyStartFound);
        Assert.Equal(int.MaxValue, cubic.Ssthresh);
        cubic.OnAck(0, 0, DelayMin, Us(10_001), Context(counters));
        Assert.True(cubic.HyStartFound);
        Assert.Equal(100 * Mss, cubic.Ssthresh);
        Assert.False(cubic.InSlowStart);
        Assert.Equal(1, counters.TCPHystartTrainDetect);
        Assert.Equal(100, counters.TCPHystartTrainCwnd);
        Assert.Equal(0, counters.TCPHystartDelayDetect);

        // Found: HyStart does nothing more until the window restarts.
        cubic.OnAck(0, 0, DelayMin, Us(11_000), Context(counters));
        Assert.Equal(1, counters.TCPHystartTrainDetect);
    }

    [Fact]
    public void Hystart_ack_train_threshold_adds_four_gso_packets_at_the_pacing_rate_at_most_one_millisecond()
    {
        // hystart_ack_delay = min(1 ms, 4 * gso_max_size / pacing rate).
        Assert.Equal(0, Cubic.HyStartAckDelay(default));
        Assert.Equal(1000, Cubic.HyStartAckDelay(Context(new TcpCounters(), pacingRate: 10_000_000, gso: 65536)));
        Assert.Equal(400, Cubic.HyStartAckDelay(Context(new TcpCounters(), pacingRate: 10_000_000, gso: 1000)));

        // With a 1 ms cushion the threshold is (20 + 1) / 2 = 10.5 ms.
        var counters = new TcpCounters();
        Cubic cubic = InSlowStart(100);
        AckContext context = Context(counters, pacingRate: 10_000_000, gso: 65536);
        for (int ms = 0; ms <= 10; ms++)
        {
            cubic.OnAck(0, 0, DelayMin, Us(ms * 1000), context);
        }

        cubic.OnAck(0, 0, DelayMin, Us(10_500), context);
        Assert.False(cubic.HyStartFound);
        cubic.OnAck(0, 0, DelayMin, Us(10_501), context);
        Assert.True(cubic.HyStartFound);
        Assert.Equal(1, counters.TCPHystartTrainDetect);
    }

    [Fact]
    public void Hystart_ack_train_is_broken_by_a_gap_of_more_than_two_milliseconds()
    {
        var counters = new TcpCounters();
        Cubic cubic = InSlowStart(100);
        cubic.OnAck(0, 0, DelayMin, Us(0), Context(counters));
        cubic.OnAck(0, 0, DelayMin, Us(2000), Context(counters)); // 2 ms apart: still the train
        // From here every ACK comes 2.001 ms after the last one of the train: none continues it, however long.
        for (long us = 4001; us < 30_000; us += 2001)
        {
            cubic.OnAck(0, 0, DelayMin, Us(us), Context(counters));
        }

        Assert.False(cubic.HyStartFound);
        Assert.Equal(0, counters.TCPHystartTrainDetect);
    }

    [Fact]
    public void Hystart_delay_ends_slow_start_when_eight_samples_of_a_round_all_exceed_delay_min_plus_an_eighth()
    {
        // delay_min / 8 = 2.5 ms, clamped to [4 ms, 16 ms]: the round's minimum must exceed 24 ms. ACKs 3 ms apart
        // keep the ACK train out of it.
        var counters = new TcpCounters();
        Cubic cubic = InSlowStart(100);
        TimeSpan high = TimeSpan.FromMicroseconds(24_001);
        for (int i = 0; i < Cubic.HyStartMinSamples; i++)
        {
            cubic.OnAck(0, 0, high, Us(i * 3000), Context(counters));
        }

        Assert.False(cubic.HyStartFound); // eight samples taken, none judged yet
        cubic.OnAck(0, 0, high, Us(8 * 3000), Context(counters));
        Assert.True(cubic.HyStartFound);
        Assert.Equal(100 * Mss, cubic.Ssthresh);
        Assert.Equal(1, counters.TCPHystartDelayDetect);
        Assert.Equal(100, counters.TCPHystartDelayCwnd);
        Assert.Equal(0, counters.TCPHystartTrainDetect);
    }

    [Fact]
    public void Hystart_delay_judges_the_smallest_sample_of_the_round_against_a_clamped_threshold()
    {
        // One sample at exactly delay_min + 4 ms keeps the round's minimum at the threshold: not above it.
        var counters = new TcpCounters();
        Cubic cubic = InSlowStart(100);
        cubic.OnAck(0, 0, TimeSpan.FromMilliseconds(24), Us(0), Context(counters));
        for (int i = 1; i < 20; i++)
        {
            cubic.OnAck(0, 0, TimeSpan.FromMilliseconds(30), Us(i * 3000), Context(counters));
        }

        Assert.False(cubic.HyStartFound);

        // A 200 ms path: delay_min / 8 = 25 ms is clamped to 16 ms.
        Cubic slow = new(0, hyStart: true);
        slow.Initialize(Mss, T0);
        slow.OnAck(0, 0, TimeSpan.FromMilliseconds(200), T0);
        slow.Cwnd = 100 * Mss;
        for (int i = 0; i <= Cubic.HyStartMinSamples; i++)
        {
            slow.OnAck(0, 0, TimeSpan.FromMilliseconds(216), Us(i * 3000), Context(counters));
        }

        Assert.False(slow.HyStartFound);
        for (int i = 0; i <= Cubic.HyStartMinSamples; i++)
        {
            slow.OnAck(0, 0, TimeSpan.FromMicroseconds(216_001), Us(30_000 + i * 3000), Context(counters, newRound: i == 0));
        }

        Assert.True(slow.HyStartFound);
    }

    [Fact]
    public void Hystart_does_nothing_below_sixteen_segments()
    {
        var counters = new TcpCounters();
        Cubic cubic = InSlowStart(Cubic.HyStartLowWindow - 1);
        for (int i = 0; i < 20; i++)
        {
            // Both detectors would fire: a 19 ms train and RTTs 10 ms above delay_min.
            cubic.OnAck(0, 0, TimeSpan.FromMilliseconds(30), Us(i * 1000), Context(counters));
        }

        Assert.False(cubic.HyStartFound);
        Assert.Equal(int.MaxValue, cubic.Ssthresh);
        Assert.Equal(0, counters.TCPHystartTrainDetect + counters.TCPHystartDelayDetect);

        // At 16 it acts: the first update begins a round, whose ninth sample ends slow start.
        cubic.Cwnd = Cubic.HyStartLowWindow * Mss;
        for (int i = 0; i <= Cubic.HyStartMinSamples; i++)
        {
            cubic.OnAck(0, 0, TimeSpan.FromMilliseconds(30), Us(20_000 + i * 1000), Context(counters));
        }

        Assert.True(cubic.HyStartFound);
        Assert.Equal(Cubic.HyStartLowWindow * Mss, cubic.Ssthresh);
        Assert.Equal(1, counters.TCPHystartDelayDetect);
        Assert.Equal(16, counters.TCPHystartDelayCwnd);
    }

    [Fact]
    public void Hystart_round_restarts_when_snd_una_passes_the_snd_nxt_of_the_round_start()
    {
        var counters = new TcpCounters();
        Cubic cubic = InSlowStart(100);
        TimeSpan high = TimeSpan.FromMilliseconds(30);
        for (int i = 0; i < Cubic.HyStartMinSamples; i++)
        {
            cubic.OnAck(0, 0, high, Us(i * 3000), Context(counters));
        }

        // The ninth sample would end slow start, but this ACK passes end_seq: a new round, whose sample count and
        // minimum start again.
        cubic.OnAck(0, 0, high, Us(8 * 3000), Context(counters, newRound: true));
        Assert.False(cubic.HyStartFound);

        // The new round's ACK train runs from its own start: 9 ms in, under the 10 ms threshold...
        for (int ms = 1; ms <= 9; ms++)
        {
            cubic.OnAck(0, 0, DelayMin, Us(24_000 + ms * 1000), Context(counters));
        }

        Assert.False(cubic.HyStartFound);
        // ... and its samples of 20 ms keep the round's minimum at delay_min.
        cubic.OnAck(0, 0, DelayMin, Us(34_001), Context(counters));
        Assert.True(cubic.HyStartFound);
        Assert.Equal(1, counters.TCPHystartTrainDetect);
        Assert.Equal(0, counters.TCPHystartDelayDetect);
    }

    [Fact]
    public void Hystart_acts_again_after_a_retransmission_timeout_and_not_when_off_or_without_context()
    {
        var counters = new TcpCounters();
        Cubic cubic = InSlowStart(100);
        for (int ms = 0; ms <= 11; ms++)
        {
            cubic.OnAck(0, 0, DelayMin, Us(ms * 1000), Context(counters));
        }

        Assert.True(cubic.HyStartFound);

        // Linux cubictcp_state(TCP_CA_Loss): found cleared, a new round.
        cubic.OnRetransmitTimeout(100 * Mss, Us(12_000));
        Assert.False(cubic.HyStartFound);
        cubic.Cwnd = 50 * Mss; // slow start again, below the new ssthresh of 70
        for (int ms = 0; ms <= 11; ms++)
        {
            cubic.OnAck(0, 0, DelayMin, Us(100_000 + ms * 1000), Context(counters));
        }

        Assert.True(cubic.HyStartFound);
        Assert.Equal(50 * Mss, cubic.Ssthresh);
        Assert.Equal(2, counters.TCPHystartTrainDetect);
        Assert.Equal(150, counters.TCPHystartTrainCwnd);

        // Off (FreeBSD's cubic has none), or no context from the connection: slow start goes on.
        Cubic off = InSlowStart(100, hyStart: false);
        Cubic blind = InSlowStart(100);
        for (int ms = 0; ms <= 20; ms++)
        {
            off.OnAck(0, 0, TimeSpan.FromMilliseconds(40), Us(ms * 1000), Context(counters));
            blind.OnAck(0, 0, TimeSpan.FromMilliseconds(40), Us(ms * 1000));
        }

        Assert.False(off.HyStartFound || blind.HyStartFound);
        Assert.Equal(int.MaxValue, off.Ssthresh);
        Assert.Equal(int.MaxValue, blind.Ssthresh);
        Assert.Equal(2, counters.TCPHystartTrainDetect);
    }

    [Fact]
    public void Hystart_is_on_in_the_linux_profile_and_off_in_freebsds()
    {
        Assert.True(new TcpSettings().HyStart);
        Assert.False(TcpSettings.FreeBsd().HyStart);
        Assert.True(((Cubic)CongestionControl.Create("cubic")).HyStart);
        Assert.False(((Cubic)CongestionControl.Create("cubic", 2, hyStart: false)).HyStart);
    }
}
