namespace Wirestack.Wire.Tests;

/// <summary>TCP options: RFC 9293 §3.2 (kind/length, MSS), RFC 7323 (window scale, timestamps), RFC 2018 (SACK).</summary>
public sealed class TcpOptionsTests
{
    private static HeaderError ParseSegmentWithOptions(string options, out TcpHeader header)
    {
        byte[] bytes = Packets.TcpWithRawOptions(Hex.Parse(options));
        Assert.Equal(HeaderError.None, TcpSegment.TryCreate(bytes, out TcpSegment segment));
        return TcpHeader.TryParse(segment, Packets.A, Packets.B, out header);
    }

    [Theory]
    [Trait("Rfc", "9293 §3.2")]
    [InlineData("02 00 00 00")]                   // length 0
    [InlineData("02 01 00 00")]                   // length 1
    [InlineData("1e 01 00 00")]                   // length 1 on an unknown kind
    [InlineData("01 01 02 05")]                   // overlong: runs past the option area
    [InlineData("01 01 1e ff")]                   // overlong unknown kind
    [InlineData("01 01 01 02")]                   // kind with no room for its length byte
    [InlineData("02 03 05 00")]                   // MSS length 3
    [InlineData("02 05 05 b4 00 00 00 00")]       // MSS length 5
    [InlineData("03 02 00 00")]                   // window scale length 2
    [InlineData("03 04 07 00")]                   // window scale length 4
    [InlineData("04 03 00 00")]                   // SACK-permitted length 3
    [InlineData("08 09 00 00 00 01 00 00 00 00 00 00")] // timestamps length 9
    [InlineData("08 0b 00 00 00 01 00 00 00 00 00 00")] // timestamps length 11
    [InlineData("05 02 00 00")]                   // SACK with no block (length 2)
    [InlineData("05 09 00 00 00 01 00 00 00 00 00 00")] // SACK length 9: not 8n + 2
    [InlineData("05 0b 00 00 00 01 00 00 00 02 00 00")] // SACK length 11
    public void TryParse_MalformedOption_IsBadOption(string options)
    {
        Assert.Equal(HeaderError.BadOption, ParseSegmentWithOptions(options, out _));
    }

    [Fact]
    [Trait("Rfc", "2018 §3")]
    public void TryParse_FiveSackBlocks_IsBadOption()
    {
        // Five blocks need 42 bytes, more than a header can hold, so present them to the option parser directly.
        byte[] options = new byte[44];
        options[0] = TcpOptions.KindSack;
        options[1] = 42;

        Assert.Equal(HeaderError.BadOption, TcpOptions.TryParse(options, out _));
    }

    [Theory]
    [Trait("Rfc", "7323 §2.3")]
    [InlineData(15)]
    [InlineData(255)]
    public void TryParse_WindowScaleAboveFourteen_IsClampedToFourteen(int shift)
    {
        Assert.Equal(HeaderError.None, ParseSegmentWithOptions($"01 03 03 {shift:x2}", out TcpHeader header));
        Assert.Equal((byte)14, header.Options.WindowScale);
        Assert.True(header.Options.WindowScaleClamped);
    }

    [Fact]
    [Trait("Rfc", "7323 §2.3")]
    public void TryParse_WindowScaleFourteen_IsNotClamped()
    {
        Assert.Equal(HeaderError.None, ParseSegmentWithOptions("01 03 03 0e", out TcpHeader header));
        Assert.Equal((byte)14, header.Options.WindowScale);
        Assert.False(header.Options.WindowScaleClamped);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.2")]
    public void TryParse_UnknownKind_IsSkippedByItsLength()
    {
        Assert.Equal(HeaderError.None, ParseSegmentWithOptions("1e 06 de ad be ef 02 04 05 b4 00 00", out TcpHeader header));
        Assert.Equal(new TcpOptions { Mss = 1460 }, header.Options);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.2")]
    public void TryParse_EndOfOptionList_IgnoresWhatFollows()
    {
        Assert.Equal(HeaderError.None, ParseSegmentWithOptions("02 04 05 b4 00 02 ff ff", out TcpHeader header));
        Assert.Equal(new TcpOptions { Mss = 1460 }, header.Options);
    }

    [Theory]
    [Trait("Rfc", "2018 §3")]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void TryParse_SackBlocks_ReadsEachBlock(int count)
    {
        string blocks = string.Concat(Enumerable.Range(0, count).Select(b => $"{1000 * b:x8}{(1000 * b) + 500:x8}"));
        string options = $"01 01 05 {2 + (8 * count):x2} {blocks}";

        Assert.Equal(HeaderError.None, ParseSegmentWithOptions(options, out TcpHeader header));
        Assert.Equal(count, header.Options.SackCount);
        for (int b = 0; b < count; b++)
        {
            Assert.Equal(new SackBlock(new SeqNumber((uint)(1000 * b)), new SeqNumber((uint)((1000 * b) + 500))), header.Options.Sacks[b]);
        }
    }

    /// <summary>Every combination of MSS, window scale, SACK-permitted and timestamps, with 0 to 4 SACK blocks:
    /// those that fit in 40 bytes survive write-then-parse unchanged, the others are refused by the writer.</summary>
    [Fact]
    [Trait("Rfc", "9293 §3.2")]
    public void WriteThenParse_EveryOptionCombination_RoundTripsOrIsRefused()
    {
        var random = new Random(2018);
        int roundTripped = 0;
        int refused = 0;
        for (int mask = 0; mask < 16; mask++)
        {
            for (int sackCount = 0; sackCount <= 4; sackCount++)
            {
                for (int trial = 0; trial < 20; trial++)
                {
                    TcpHeader header = RandomHeader(random, mask, sackCount);
                    byte[] payload = new byte[random.Next(0, 100)];
                    random.NextBytes(payload);
                    if (header.Options.EncodedLength > TcpOptions.MaxLength)
                    {
                        Assert.Throws<ArgumentException>(() => header.WriteTo(new byte[200], Packets.A, Packets.B));
                        refused++;
                        continue;
                    }

                    byte[] bytes = Packets.Tcp(header, payload, Packets.A, Packets.B);

                    Assert.Equal(0, header.Length % 4);
                    Assert.Equal(HeaderError.None, TcpSegment.TryCreate(bytes, out TcpSegment segment));
                    Assert.Equal(header.Length, segment.HeaderLength);
                    Assert.Equal(HeaderError.None, TcpHeader.TryParse(segment, Packets.A, Packets.B, out TcpHeader parsed));
                    Assert.Equal(header, parsed);
                    Assert.True(segment.Payload.SequenceEqual(payload));
                    roundTripped++;
                }
            }
        }

        // 62 of the 80 combinations fit in 40 bytes (e.g. with timestamps and MSS at most 2 SACK blocks do).
        Assert.Equal(62 * 20, roundTripped);
        Assert.Equal(18 * 20, refused);
    }

    private static TcpHeader RandomHeader(Random random, int mask, int sackCount)
    {
        var options = new TcpOptions();
        if ((mask & 1) != 0) options.Mss = (ushort)random.Next(65536);
        if ((mask & 2) != 0) options.WindowScale = (byte)random.Next(0, TcpOptions.MaxWindowScale + 1);
        if ((mask & 4) != 0) options.SackPermitted = true;
        if ((mask & 8) != 0)
        {
            options.HasTimestamp = true;
            options.TsVal = (uint)random.NextInt64(0, 1L << 32);
            options.TsEcr = (uint)random.NextInt64(0, 1L << 32);
        }

        options.SackCount = sackCount;
        for (int b = 0; b < sackCount; b++)
        {
            options.Sacks[b] = new SackBlock(new SeqNumber((uint)random.NextInt64(0, 1L << 32)), new SeqNumber((uint)random.NextInt64(0, 1L << 32)));
        }

        return new TcpHeader
        {
            SourcePort = (ushort)random.Next(65536),
            DestinationPort = (ushort)random.Next(65536),
            SequenceNumber = new SeqNumber((uint)random.NextInt64(0, 1L << 32)),
            AcknowledgmentNumber = new SeqNumber((uint)random.NextInt64(0, 1L << 32)),
            Flags = (TcpFlags)random.Next(256),
            Window = (ushort)random.Next(65536),
            UrgentPointer = (ushort)random.Next(65536),
            Options = options,
        };
    }

    [Fact]
    public void Equals_ComparesOnlyBlocksInUseAndPresentTimestamps()
    {
        var a = new TcpOptions { SackCount = 1, TsVal = 5 };
        a.Sacks[0] = new SackBlock(new SeqNumber(1), new SeqNumber(2));
        TcpOptions b = a;
        b.Sacks[1] = new SackBlock(new SeqNumber(3), new SeqNumber(4)); // beyond SackCount
        b.TsVal = 6;                                                     // HasTimestamp is false

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());

        b.Sacks[0] = new SackBlock(new SeqNumber(1), new SeqNumber(3));
        Assert.NotEqual(a, b);
        Assert.True(a != b);
        Assert.NotEqual(new TcpHeader { Options = a }, new TcpHeader { Options = b });
        Assert.False(a.Equals((object)"not options"));
    }

    [Fact]
    public void WriteTo_MoreThanFourSackBlocks_Throws()
    {
        var options = new TcpOptions { SackCount = 5 };

        Assert.Throws<ArgumentException>(() => options.WriteTo(new byte[64]));
    }

    [Fact]
    public void ToString_ListsOptions()
    {
        var options = new TcpOptions { Mss = 1460, SackPermitted = true, WindowScale = 7, SackCount = 1 };
        options.Sacks[0] = new SackBlock(new SeqNumber(10), new SeqNumber(20));

        Assert.Equal("mss 1460,sackOK,wscale 7,sack 10:20", options.ToString());
    }

    [Theory]
    [Trait("Rfc", "9293 §3.2")]
    // FreeBSD tcp_addoptions: mss; nop, wscale; sackOK; nops to 2 mod 4, TS; EOL padding to a multiple of 4.
    [InlineData(true, true, true, "02 04 05 b4 01 03 03 06 04 02 08 0a 00 00 00 64 00 00 00 00")]
    [InlineData(true, true, false, "02 04 05 b4 01 03 03 06 04 02 00 00")]
    [InlineData(true, false, true, "02 04 05 b4 01 03 03 06 01 01 08 0a 00 00 00 64 00 00 00 00")]
    [InlineData(false, true, true, "02 04 05 b4 04 02 08 0a 00 00 00 64 00 00 00 00")]
    [InlineData(false, true, false, "02 04 05 b4 04 02 00 00")]
    public void WriteTo_BsdLayout_IsFreeBsdsOrderAndAlignment(bool wscale, bool sackOk, bool timestamps, string expected)
    {
        var options = new TcpOptions
        {
            Mss = 1460,
            WindowScale = wscale ? (byte)6 : null,
            SackPermitted = sackOk,
            HasTimestamp = timestamps,
            TsVal = 100,
            BsdLayout = true,
        };
        byte[] buffer = new byte[TcpOptions.MaxLength];

        int written = options.WriteTo(buffer);

        Assert.Equal(options.EncodedLength, written);
        Assert.Equal(Hex.Parse(expected), buffer[..written]);
        Assert.Equal(HeaderError.None, TcpOptions.TryParse(buffer.AsSpan(0, written), out TcpOptions parsed));
        Assert.Equal(options.WindowScale, parsed.WindowScale);
        Assert.Equal(sackOk, parsed.SackPermitted);
        Assert.Equal(timestamps, parsed.HasTimestamp);
    }
}
