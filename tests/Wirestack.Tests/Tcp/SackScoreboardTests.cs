using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

public class SackScoreboardTests
{
    private const int Mss = 100;

    // Ten segments of 100 bytes in flight: [1000, 2000). Sequence numbers sit near the wrap.
    private static readonly SeqNumber Origin = new(0xFFFF_FC18); // Origin + 1000 = 2^32
    private static readonly SeqNumber Una = S(1000);
    private static readonly SeqNumber Nxt = S(2000);

    private static SeqNumber S(int offset) => Origin + offset;

    private static SackBlock B(int left, int right) => new(S(left), S(right));

    private static SackBlock[] Ranges(SackScoreboard board)
    {
        var ranges = new SackBlock[board.RangeCount];
        board.CopyRanges(ranges);
        return ranges;
    }

    private static SackScoreboard With(params SackBlock[] blocks)
    {
        var board = new SackScoreboard();
        foreach (SackBlock block in blocks)
        {
            board.Update(Una, Nxt, [block], out _);
        }

        return board;
    }

    [Fact]
    [Trait("Rfc", "2018 §3")]
    public void Blocks_merge_into_maximal_ranges()
    {
        var board = new SackScoreboard();
        Assert.True(board.IsEmpty);

        Assert.True(board.Update(Una, Nxt, [B(1200, 1300)], out bool dsack));
        Assert.False(dsack);
        Assert.Equal(100, board.SackedBytes);
        Assert.Equal(S(1300), board.HighestSacked);

        Assert.False(board.Update(Una, Nxt, [B(1200, 1300)], out _)); // nothing new
        Assert.True(board.Update(Una, Nxt, [B(1300, 1400)], out _));  // adjacent: merges
        Assert.Equal([B(1200, 1400)], Ranges(board));

        Assert.True(board.Update(Una, Nxt, [B(1500, 1600), B(1200, 1400)], out _));
        Assert.Equal([B(1200, 1400), B(1500, 1600)], Ranges(board));
        Assert.Equal(300, board.SackedBytes);

        Assert.True(board.Update(Una, Nxt, [B(1350, 1550)], out _)); // bridges the hole
        Assert.Equal([B(1200, 1600)], Ranges(board));
        Assert.Equal(400, board.SackedBytes);
        Assert.True(board.IsSacked(S(1200)));
        Assert.True(board.IsSacked(S(1599)));
        Assert.False(board.IsSacked(S(1600)));
        Assert.False(board.IsSacked(S(1199)));
    }

    [Fact]
    [Trait("Rfc", "2018 §3")]
    public void Blocks_are_clipped_to_the_window_and_malformed_ones_ignored()
    {
        var board = new SackScoreboard();
        // The second block starts below the ACK (the first is a normal SACK, so this is not a D-SACK).
        Assert.True(board.Update(Una, Nxt, [B(1500, 1600), B(900, 1100)], out bool dsack));
        Assert.False(dsack);
        Assert.Equal([B(1000, 1100), B(1500, 1600)], Ranges(board));

        Assert.True(board.Update(Una, Nxt, [B(1900, 2100)], out _)); // beyond SND.NXT: clipped
        Assert.False(board.Update(Una, Nxt, [B(2100, 2200)], out _)); // wholly beyond: ignored
        Assert.False(board.Update(Una, Nxt, [B(1300, 1200)], out _)); // right edge below left
        Assert.False(board.Update(Una, Nxt, [B(1300, 1300)], out _)); // empty
        Assert.Equal([B(1000, 1100), B(1500, 1600), B(1900, 2000)], Ranges(board));
        Assert.Equal(S(2000), board.HighestSacked);
    }

    [Fact]
    [Trait("Rfc", "2883 §4")]
    public void A_first_block_below_the_ack_is_a_dsack_and_is_not_recorded()
    {
        var board = new SackScoreboard();
        Assert.True(board.Update(Una, Nxt, [B(900, 1000), B(1500, 1600)], out bool dsack));
        Assert.True(dsack);
        Assert.Equal([B(1500, 1600)], Ranges(board));
        Assert.Equal(1, board.DsackCount);

        // A D-SACK alone changes nothing.
        Assert.False(board.Update(Una, Nxt, [B(800, 900)], out dsack));
        Assert.True(dsack);
        Assert.Equal(100, board.SackedBytes);
    }

    [Fact]
    [Trait("Rfc", "2883 §4")]
    public void A_first_block_inside_the_second_is_a_dsack()
    {
        var board = new SackScoreboard();
        Assert.True(board.Update(Una, Nxt, [B(1500, 1600), B(1400, 1700)], out bool dsack));
        Assert.True(dsack);
        Assert.Equal([B(1400, 1700)], Ranges(board));

        // Not a subset: an ordinary SACK.
        Assert.True(board.Update(Una, Nxt, [B(1800, 1900), B(1400, 1700)], out dsack));
        Assert.False(dsack);
        Assert.Equal([B(1400, 1700), B(1800, 1900)], Ranges(board));
    }

    [Fact]
    [Trait("Rfc", "6675 §5")]
    public void Cumulative_ack_forgets_everything_below()
    {
        SackScoreboard board = With(B(1100, 1200), B(1300, 1400), B(1500, 1600));
        board.OnCumulativeAck(S(1350));
        Assert.Equal([B(1350, 1400), B(1500, 1600)], Ranges(board));
        Assert.Equal(150, board.SackedBytes);

        board.OnCumulativeAck(S(1600));
        Assert.True(board.IsEmpty);
        Assert.Equal(0, board.SackedBytes);
        Assert.Equal(S(1600), board.HighestSacked);
    }

    [Fact]
    [Trait("Rfc", "6675 §4")]
    public void IsLost_counts_discontiguous_sacked_ranges_above()
    {
        SackScoreboard board = With(B(1100, 1200), B(1300, 1400), B(1500, 1600));
        Assert.True(board.IsLost(S(1000), Mss));  // three SACKed sequences above
        Assert.False(board.IsLost(S(1200), Mss)); // two ranges, 200 bytes: not more than 2 * SMSS
        Assert.False(board.IsLost(S(1600), Mss));

        board.Update(Una, Nxt, [B(1700, 1800)], out _);
        Assert.True(board.IsLost(S(1200), Mss)); // three ranges above again
        Assert.False(board.IsLost(S(1400), Mss));
    }

    [Fact]
    [Trait("Rfc", "6675 §4")]
    public void IsLost_counts_sacked_bytes_above()
    {
        SackScoreboard twoSegments = With(B(1100, 1300));
        Assert.False(twoSegments.IsLost(S(1000), Mss)); // 200 bytes is not more than (3 - 1) * 100

        SackScoreboard threeSegments = With(B(1100, 1400));
        Assert.True(threeSegments.IsLost(S(1000), Mss));
        // Only bytes above the octet count: from 1150, 249 bytes lie above.
        Assert.True(threeSegments.IsLost(S(1150), Mss));
        Assert.False(threeSegments.IsLost(S(1200), Mss)); // 199 bytes above
    }

    [Fact]
    [Trait("Rfc", "6675 §4")]
    public void Pipe_counts_unsacked_octets_not_lost_plus_retransmissions()
    {
        // SACKed: segments 2, 4 and 6 (1100, 1300, 1500). Lost by IsLost: only [1000, 1100).
        SackScoreboard board = With(B(1100, 1200), B(1300, 1400), B(1500, 1600));
        Assert.Equal(S(1100), board.LostBoundary(Mss));

        // Un-SACKed and not lost: [1200,1300) + [1400,1500) + [1600,2000) = 600.
        Assert.Equal(600, board.Pipe(Una, Nxt, Una, Mss));

        // After retransmitting [1000, 1100): +100 for the retransmission (the lost original counts 0).
        Assert.Equal(700, board.Pipe(Una, Nxt, S(1100), Mss));

        // Retransmitting [1200, 1300) too, which was not lost: it counts twice.
        Assert.Equal(800, board.Pipe(Una, Nxt, S(1300), Mss));

        // Without SACK information every octet is in flight.
        Assert.Equal(1000, new SackScoreboard().Pipe(Una, Nxt, Una, Mss));
    }

    [Fact]
    [Trait("Rfc", "6675 §4")]
    public void NextSegment_applies_rule_1_then_rule_3()
    {
        SackScoreboard board = With(B(1100, 1200), B(1300, 1400), B(1500, 1600));

        // Rule 1: the first un-SACKed octet above HighRxt that IsLost.
        Assert.True(board.NextSegment(Una, Nxt, Una, Mss, out SeqNumber seq, out int length, out bool rule3));
        Assert.Equal((S(1000), 100, false), (seq, length, rule3));

        // [1000, 1100) was retransmitted; 1200 is un-SACKed but not lost: rule 3.
        Assert.True(board.NextSegment(Una, Nxt, S(1100), Mss, out seq, out length, out rule3));
        Assert.Equal((S(1200), 100, true), (seq, length, rule3));

        // HighRxt inside a SACKed range: skip to its end.
        Assert.True(board.NextSegment(Una, Nxt, S(1350), Mss, out seq, out length, out rule3));
        Assert.Equal((S(1400), 100, true), (seq, length, rule3));

        // Nothing un-SACKed below the highest SACKed octet is left: rules 1 and 3 fail.
        Assert.False(board.NextSegment(Una, Nxt, S(1600), Mss, out _, out _, out _));
        Assert.False(new SackScoreboard().NextSegment(Una, Nxt, Una, Mss, out _, out _, out _));
    }

    [Fact]
    [Trait("Rfc", "6675 §4")]
    public void NextSegment_is_at_most_one_smss_and_stops_at_sacked_data()
    {
        // Hole [1000, 1250) below a long SACKed run: lost, and longer than one segment.
        SackScoreboard board = With(B(1250, 1600));
        Assert.True(board.NextSegment(Una, Nxt, Una, Mss, out SeqNumber seq, out int length, out bool rule3));
        Assert.Equal((S(1000), 100, false), (seq, length, rule3));

        Assert.True(board.NextSegment(Una, Nxt, S(1200), Mss, out seq, out length, out rule3));
        Assert.Equal((S(1200), 50, false), (seq, length, rule3));
    }

    [Fact]
    public void The_number_of_ranges_is_bounded_by_forgetting_the_oldest()
    {
        var board = new SackScoreboard(maxRanges: 4);
        for (int i = 0; i < 5; i++)
        {
            board.Update(Una, Nxt, [B(1100 + i * 200, 1200 + i * 200)], out _);
        }

        Assert.Equal(4, board.RangeCount);
        Assert.Equal([B(1300, 1400), B(1500, 1600), B(1700, 1800), B(1900, 2000)], Ranges(board));
        Assert.Equal(400, board.SackedBytes);

        // Refreshing a range keeps it: now [1500, 1600) is the oldest.
        board.Update(Una, Nxt, [B(1300, 1450)], out _);
        board.Update(Una, Nxt, [B(1050, 1060)], out _);
        Assert.Equal([B(1050, 1060), B(1300, 1450), B(1700, 1800), B(1900, 2000)], Ranges(board));

        board.Reset();
        Assert.True(board.IsEmpty);
        Assert.Equal(0, board.SackedBytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_updates_match_an_octet_map_reference(int seed)
    {
        var random = new Random(seed);
        const int Window = 2000;
        int una = 0;
        var board = new SackScoreboard(maxRanges: 10_000);
        var sacked = new bool[Window * 20];

        for (int step = 0; step < 400; step++)
        {
            int nxt = una + Window;
            var blocks = new SackBlock[random.Next(1, 5)];
            for (int b = 0; b < blocks.Length; b++)
            {
                int left = una + random.Next(-100, Window + 100);
                int right = left + random.Next(-10, 300);
                blocks[b] = new SackBlock(S(left), S(right));
            }

            bool grew = board.Update(S(una), S(nxt), blocks, out bool dsack);
            SackBlock first = blocks[0];
            bool expectDsack = first.Left < first.Right
                && (first.Left < S(una) || (blocks.Length > 1 && blocks[1].Left < blocks[1].Right
                    && first.Left >= blocks[1].Left && first.Right <= blocks[1].Right));
            Assert.Equal(expectDsack, dsack);

            bool expectGrew = false;
            for (int b = expectDsack ? 1 : 0; b < blocks.Length; b++)
            {
                int left = Math.Max(blocks[b].Left - Origin, una);
                int right = Math.Min(blocks[b].Right - Origin, nxt);
                for (int p = left; p < right; p++)
                {
                    expectGrew |= !sacked[p];
                    sacked[p] = true;
                }
            }

            Assert.Equal(expectGrew, grew);

            if (random.Next(5) == 0)
            {
                una += random.Next(0, 300);
                board.OnCumulativeAck(S(una));
            }

            nxt = una + Window;
            CheckAgainstReference(board, sacked, una, nxt, random);
        }
    }

    private static void CheckAgainstReference(SackScoreboard board, bool[] sacked, int una, int nxt, Random random)
    {
        int total = 0;
        int highest = una;
        for (int p = una; p < nxt + 400; p++)
        {
            if (sacked[p])
            {
                total++;
                highest = p + 1;
            }
        }

        Assert.Equal(total, board.SackedBytes);
        Assert.Equal(S(highest), board.HighestSacked);

        bool NaiveLost(int s, int mss)
        {
            int runs = 0;
            int bytes = 0;
            for (int p = s + 1; p < highest; p++)
            {
                if (sacked[p])
                {
                    bytes++;
                    if (p == s + 1 || !sacked[p - 1])
                    {
                        runs++;
                    }
                }
            }

            return runs >= SackScoreboard.DupThresh || bytes > (SackScoreboard.DupThresh - 1) * mss;
        }

        int mss = random.Next(20, 120);
        for (int p = una; p < nxt; p += random.Next(1, 30))
        {
            Assert.Equal(sacked[p], board.IsSacked(S(p)));
            Assert.Equal(NaiveLost(p, mss), board.IsLost(S(p), mss));
        }

        // SetPipe, octet by octet as RFC 6675 §4 writes it.
        int highRxt = una + random.Next(-50, nxt - una);
        int pipe = 0;
        for (int p = una; p < nxt; p++)
        {
            if (!sacked[p])
            {
                pipe += NaiveLost(p, mss) ? 0 : 1;
                pipe += p < highRxt ? 1 : 0;
            }
        }

        Assert.Equal(pipe, board.Pipe(S(una), S(nxt), S(highRxt), mss));

        // NextSeg rules 1 and 3.
        int start = Math.Max(una, highRxt);
        int candidate = -1;
        for (int p = start; p < Math.Min(highest, nxt); p++)
        {
            if (!sacked[p])
            {
                candidate = p;
                break;
            }
        }

        bool found = board.NextSegment(S(una), S(nxt), S(highRxt), mss, out SeqNumber seq, out int length, out bool rule3);
        Assert.Equal(candidate >= 0, found);
        if (found)
        {
            Assert.Equal(S(candidate), seq);
            int end = candidate;
            while (end < nxt && end - candidate < mss && !sacked[end])
            {
                end++;
            }

            Assert.Equal(end - candidate, length);
            Assert.Equal(!NaiveLost(candidate, mss), rule3);
        }
    }
}
