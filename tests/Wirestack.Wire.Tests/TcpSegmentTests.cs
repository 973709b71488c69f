using System.Text;

namespace Wirestack.Wire.Tests;

/// <summary>RFC 9293 §3.1: the TCP view and header record, on real Linux segments and on every length error.</summary>
public sealed class TcpSegmentTests
{
    private static byte[] Segment(byte[] datagram) => datagram.AsSpan(IPv4Header.Length).ToArray();

    [Fact]
    [Trait("Rfc", "9293 §3.1")]
    public void TryParse_LinuxSyn_ReadsHeaderAndEveryOption()
    {
        byte[] bytes = Segment(Vectors.LinuxSyn);

        Assert.Equal(HeaderError.None, TcpSegment.TryCreate(bytes, out TcpSegment segment));
        Assert.Equal(53966, segment.SourcePort);
        Assert.Equal(45678, segment.DestinationPort);
        Assert.Equal(new SeqNumber(0xfe52cf21), segment.SequenceNumber);
        Assert.Equal(new SeqNumber(0), segment.AcknowledgmentNumber);
        Assert.Equal(40, segment.HeaderLength);
        Assert.Equal(TcpFlags.Syn, segment.Flags);
        Assert.Equal(65495, segment.Window);
        Assert.Equal(0xc79c, segment.Checksum);
        Assert.Equal(0, segment.UrgentPointer);
        Assert.Equal(20, segment.Options.Length);
        Assert.True(segment.Payload.IsEmpty);
        Assert.True(segment.IsChecksumValid(Vectors.Loopback, Vectors.Loopback));

        Assert.Equal(HeaderError.None, TcpHeader.TryParse(segment, Vectors.Loopback, Vectors.Loopback, out TcpHeader header));
        var expected = new TcpOptions { Mss = 65495, SackPermitted = true, HasTimestamp = true, TsVal = 0x7b00baaf, TsEcr = 0, WindowScale = 10 };
        Assert.Equal(expected, header.Options);
        Assert.Equal(TcpFlags.Syn, header.Flags);
        Assert.Equal(40, header.Length);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.1")]
    public void WriteTo_ParsedLinuxSyn_ReproducesTheSegmentByteForByte()
    {
        // Our option layout (MSS, SACK_PERM+TS, NOP+WS) is the one Linux uses, so the emitted SYN, checksum
        // included, is the captured one.
        byte[] bytes = Segment(Vectors.LinuxSyn);
        TcpSegment.TryCreate(bytes, out TcpSegment segment);
        TcpHeader.TryParse(segment, Vectors.Loopback, Vectors.Loopback, out TcpHeader header);

        byte[] written = Packets.Tcp(header, [], Vectors.Loopback, Vectors.Loopback);

        Assert.Equal(Hex.Format(bytes), Hex.Format(written));
    }

    [Fact]
    public void TryParse_LoopbackPartialChecksum_IsBadChecksum()
    {
        TcpSegment.TryCreate(Segment(Vectors.LinuxSynPartialChecksum), out TcpSegment segment);

        Assert.Equal(HeaderError.BadChecksum, TcpHeader.TryParse(segment, Vectors.Loopback, Vectors.Loopback, out _));
        Assert.Equal(HeaderError.None, TcpHeader.TryParseUnchecked(segment, out TcpHeader header));
        Assert.Equal((ushort)65495, header.Options.Mss);
    }

    [Fact]
    public void TryParse_LinuxDataSegment_ReadsPayloadAndTimestamps()
    {
        byte[] bytes = Segment(Vectors.LinuxData);

        Assert.Equal(HeaderError.None, TcpSegment.TryCreate(bytes, out TcpSegment segment));
        Assert.Equal(HeaderError.None, TcpHeader.TryParse(segment, Vectors.Loopback, Vectors.Loopback, out TcpHeader header));
        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, header.Flags);
        Assert.Equal(new SeqNumber(0x37f700e8), header.AcknowledgmentNumber);
        Assert.Equal(64, header.Window);
        Assert.Equal(new TcpOptions { HasTimestamp = true, TsVal = 0x7b00bab0, TsEcr = 0xd1a8771c }, header.Options);
        Assert.Equal("hello wirestack\n", Encoding.ASCII.GetString(segment.Payload));
        Assert.Equal(Hex.Format(bytes), Hex.Format(Packets.Tcp(header, segment.Payload, Vectors.Loopback, Vectors.Loopback)));
    }

    [Fact]
    public void TryParse_FlippedPayloadBit_IsBadChecksum()
    {
        byte[] bytes = Segment(Vectors.LinuxData);
        bytes[^1] ^= 0x80;
        TcpSegment.TryCreate(bytes, out TcpSegment segment);

        Assert.Equal(HeaderError.BadChecksum, TcpHeader.TryParse(segment, Vectors.Loopback, Vectors.Loopback, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(19)]
    public void TryCreate_ShorterThanFixedHeader_IsTruncated(int length)
    {
        Assert.Equal(HeaderError.Truncated, TcpSegment.TryCreate(Segment(Vectors.LinuxSyn).AsSpan(0, length), out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [Trait("Rfc", "9293 §3.1")]
    public void TryCreate_DataOffsetBelowFive_IsBadLength(int words)
    {
        byte[] bytes = Segment(Vectors.LinuxSyn);
        bytes[12] = (byte)(words << 4);

        Assert.Equal(HeaderError.BadLength, TcpSegment.TryCreate(bytes, out _));
    }

    [Theory]
    [InlineData(39)]
    [InlineData(20)]
    public void TryCreate_DataOffsetBeyondBytes_IsTruncated(int length)
    {
        Assert.Equal(HeaderError.Truncated, TcpSegment.TryCreate(Segment(Vectors.LinuxSyn).AsSpan(0, length), out _));
    }

    [Fact]
    public void TryCreate_DataOffsetFifteen_ReadsSixtyByteHeader()
    {
        byte[] options = new byte[40];
        Array.Fill(options, TcpOptions.KindNop);

        byte[] bytes = Packets.TcpWithRawOptions(options);

        Assert.Equal(HeaderError.None, TcpSegment.TryCreate(bytes, out TcpSegment segment));
        Assert.Equal(60, segment.HeaderLength);
        Assert.Equal(HeaderError.None, TcpHeader.TryParse(segment, Packets.A, Packets.B, out TcpHeader header));
        Assert.Equal(default, header.Options);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.1")]
    public void WriteTo_OptionsBeyondFortyBytes_Throws()
    {
        var header = new TcpHeader { Options = new TcpOptions { Mss = 1460, HasTimestamp = true, SackPermitted = true, WindowScale = 7, SackCount = 2 } };

        Assert.Equal(60, header.Length); // 4 + 12 + 4 + 20 = 40 bytes of options: fits exactly
        Assert.Equal(60, Packets.Tcp(header, [], Packets.A, Packets.B).Length);

        header.Options.SackCount = 3;   // 48 bytes of options: impossible
        Assert.Throws<ArgumentException>(() => header.WriteTo(new byte[100], Packets.A, Packets.B));
    }

    [Fact]
    public void WriteTo_SegmentShorterThanHeader_Throws()
    {
        var header = new TcpHeader { Options = new TcpOptions { Mss = 1460 } };

        Assert.Throws<ArgumentException>(() => header.WriteTo(new byte[23], Packets.A, Packets.B));
    }
}
