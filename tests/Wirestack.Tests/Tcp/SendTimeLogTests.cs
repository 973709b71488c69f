using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>The transmit-time log behind RTT samples without timestamps: Linux's per-ACK timing (tcp_clean_rtx_queue)
/// and RFC 6298 §3's one segment at a time, both with Karn's rule.</summary>
public sealed class SendTimeLogTests
{
    private static Instant Ms(int ms) => Instant.Zero + TimeSpan.FromMilliseconds(ms);

    private static SeqNumber S(uint value) => new(value);

    [Fact]
    public void Every_segment_is_timed_and_an_ack_gives_its_earliest_and_latest_transmit()
    {
        var log = new SendTimeLog(everySegment: true);
        log.Record(S(1000), S(2000), Ms(1));
        log.Record(S(2000), S(3000), Ms(2));
        log.Record(S(3000), S(4000), Ms(3));

        Assert.True(log.TryTake(S(3000), out Instant first, out Instant last));
        Assert.Equal(Ms(1), first);
        Assert.Equal(Ms(2), last);
        Assert.Equal(1, log.Count);
        Assert.True(log.TryTake(S(4000), out first, out _));
        Assert.Equal(Ms(3), first);
        Assert.Equal(0, log.Count);
        Assert.False(log.TryTake(S(4000), out _, out _));
    }

    [Fact]
    public void Data_sent_twice_gives_no_sample()
    {
        var log = new SendTimeLog(everySegment: true);
        log.Record(S(1000), S(2000), Ms(1));
        log.Record(S(2000), S(3000), Ms(2));
        log.MarkRetransmitted(S(1000), S(2000));

        Assert.True(log.TryTake(S(3000), out Instant first, out _)); // the second segment still times the ACK
        Assert.Equal(Ms(2), first);

        log.Record(S(3000), S(4000), Ms(5));
        log.MarkRetransmitted(S(3000), S(4000));
        Assert.False(log.TryTake(S(4000), out _, out _));
        Assert.Equal(0, log.Count);
    }

    [Fact]
    public void A_piece_sent_again_in_part_is_split_and_the_rest_still_times_its_ack()
    {
        // Linux splits a TSO skb it retransmits in part (tcp_fragment): only the bytes sent twice lose their time.
        var log = new SendTimeLog(everySegment: true);
        log.Record(S(0), S(4000), Ms(5));
        log.MarkRetransmitted(S(1000), S(2000));
        Assert.Equal(3, log.Count); // [0, 1000) [1000, 2000) sent twice [2000, 4000)

        Assert.True(log.TryTake(S(1000), out Instant first, out _));
        Assert.Equal(Ms(5), first);
        Assert.False(log.TryTake(S(2000), out _, out _)); // only the retransmitted part acknowledged
        Assert.True(log.TryTake(S(4000), out first, out _));
        Assert.Equal(Ms(5), first);
        Assert.Equal(0, log.Count);
    }

    [Fact]
    public void A_large_segment_acknowledged_in_part_stays_timed_for_the_rest()
    {
        var log = new SendTimeLog(everySegment: true);
        log.Record(S(0), S(64_000), Ms(1));

        Assert.True(log.TryTake(S(32_000), out Instant first, out _));
        Assert.Equal(Ms(1), first);
        Assert.Equal(1, log.Count);
        Assert.True(log.TryTake(S(64_000), out first, out _));
        Assert.Equal(Ms(1), first);
        Assert.Equal(0, log.Count);
    }

    [Fact]
    public void One_at_a_time_times_a_single_segment_until_an_ack_passes_its_start()
    {
        var log = new SendTimeLog(everySegment: false);
        log.Record(S(1000), S(2000), Ms(1));
        log.Record(S(2000), S(3000), Ms(2)); // ignored: a segment is being timed

        Assert.Equal(1, log.Count);
        Assert.True(log.TryTake(S(1500), out Instant first, out _));
        Assert.Equal(Ms(1), first);
        Assert.Equal(0, log.Count); // the timing ended: the next segment sent is timed
        log.Record(S(3000), S(4000), Ms(7));
        Assert.True(log.TryTake(S(4000), out first, out _));
        Assert.Equal(Ms(7), first);
    }

    [Fact]
    public void The_ring_grows_past_its_first_size_and_keeps_sequence_order()
    {
        var log = new SendTimeLog(everySegment: true);
        for (int i = 0; i < 100; i++)
        {
            log.Record(S((uint)(i * 100)), S((uint)((i + 1) * 100)), Ms(i));
            if (i == 10)
            {
                Assert.True(log.TryTake(S(500), out Instant early, out _)); // the ring wraps before it grows
                Assert.Equal(Ms(0), early);
            }
        }

        Assert.Equal(95, log.Count);
        Assert.True(log.TryTake(S(10_000), out Instant first, out Instant last));
        Assert.Equal(Ms(5), first);
        Assert.Equal(Ms(99), last);
    }
}
