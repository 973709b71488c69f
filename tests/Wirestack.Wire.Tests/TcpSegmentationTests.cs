namespace Wirestack.Wire.Tests;

/// <summary>The cut a NIC's TCP segmentation offload makes (<see cref="TcpSegmentation"/>): every frame a valid
/// datagram of its own, the payload in order, the headers adjusted as Linux's tcp_gso_segment adjusts them.</summary>
public sealed class TcpSegmentationTests
{
    private const int Mss = 1448;

    [Fact]
    [Trait("Rfc", "9293 §3.4")]
    public void Large_segment_becomes_valid_frames_whose_payloads_join_into_the_original()
    {
        byte[] payload = new byte[3 * Mss + 500];
        new Random(7).NextBytes(payload);
        byte[] large = Large(payload, TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr, identification: 0xFFFE);

        Assert.True(TcpSegmentation.TryGetLayout(large, Mss, 1500, out TcpSegmentation.Layout layout));
        Assert.Equal(4, layout.FrameCount);
        var joined = new List<byte>();
        for (int i = 0; i < layout.FrameCount; i++)
        {
            byte[] frame = new byte[layout.FrameLength(i)];
            TcpSegmentation.WriteFrame(large, layout, i, frame);
            Assert.True(frame.Length <= 1500);

            // RFC 791 §3.1: a valid header of its own (checksum, total length), identification one up per frame.
            Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(frame, out IPv4Packet ip));
            Assert.Equal(HeaderError.None, IPv4Header.TryParse(ip, out IPv4Header ipHeader));
            Assert.Equal((ushort)(0xFFFE + i), ipHeader.Identification); // wraps: FFFE, FFFF, 0, 1
            Assert.True(ipHeader.DontFragment);

            // RFC 9293 §3.1/§3.4: its own checksum; the sequence number of its first byte; the options unchanged.
            Assert.Equal(HeaderError.None, TcpSegment.TryCreate(ip.Payload, out TcpSegment segment));
            Assert.Equal(HeaderError.None, TcpHeader.TryParse(segment, Packets.A, Packets.B, out TcpHeader tcp));
            Assert.Equal(new SeqNumber(1000u + (uint)(i * Mss)), tcp.SequenceNumber);
            Assert.Equal(new SeqNumber(77), tcp.AcknowledgmentNumber);
            Assert.Equal(123456u, tcp.Options.TsVal);
            bool first = i == 0, last = i == layout.FrameCount - 1;
            Assert.Equal(first, tcp.Flags.HasFlag(TcpFlags.Cwr)); // RFC 3168 §6.1.2: signalled once
            Assert.Equal(last, tcp.Flags.HasFlag(TcpFlags.Fin));
            Assert.Equal(last, tcp.Flags.HasFlag(TcpFlags.Psh));
            Assert.True(tcp.Flags.HasFlag(TcpFlags.Ack));
            Assert.Equal(last ? 500 : Mss, segment.Payload.Length);
            joined.AddRange(segment.Payload.ToArray());
        }

        Assert.Equal(payload, joined.ToArray());
    }

    [Fact]
    public void Headers_written_apart_from_the_payload_complete_to_the_frame_written_whole()
    {
        // A payload held elsewhere: the layout read from the headers and the datagram's length, each frame's headers
        // with a partial checksum (pseudo-header and header), completed by adding the payload's sum.
        byte[] payload = new byte[2 * Mss + 301];
        new Random(9).NextBytes(payload);
        byte[] large = Large(payload, TcpFlags.Ack | TcpFlags.Psh);
        Assert.True(TcpSegmentation.TryGetLayout(large, Mss, 1500, out TcpSegmentation.Layout whole));
        Assert.True(TcpSegmentation.TryGetLayout(large.AsSpan(0, whole.HeadersLength), large.Length, Mss, 1500, out TcpSegmentation.Layout fromHead));
        Assert.Equal(whole, fromHead);
        Assert.False(TcpSegmentation.TryGetLayout(large.AsSpan(0, whole.HeadersLength - 1), large.Length, Mss, 1500, out _));

        for (int i = 0; i < whole.FrameCount; i++)
        {
            byte[] expected = new byte[whole.FrameLength(i)];
            TcpSegmentation.WriteFrame(large, whole, i, expected);
            byte[] frame = new byte[whole.FrameLength(i)];
            TcpSegmentation.WriteFrameHeaders(large.AsSpan(0, whole.HeadersLength), whole, i, frame.AsSpan(0, whole.HeadersLength), payloadSum: 0);
            payload.AsSpan(i * Mss, frame.Length - whole.HeadersLength).CopyTo(frame.AsSpan(whole.HeadersLength));
            Assert.NotEqual(Convert.ToHexString(expected), Convert.ToHexString(frame)); // the checksum is partial

            InternetChecksum.AddToChecksumField(frame.AsSpan(20 + 16, 2), InternetChecksum.Accumulate(frame.AsSpan(whole.HeadersLength)));
            Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(frame));
        }
    }

    [Fact]
    public void Segment_size_is_capped_so_every_frame_fits_the_mtu()
    {
        byte[] large = Large(new byte[4000], TcpFlags.Ack);

        Assert.True(TcpSegmentation.TryGetLayout(large, 1448, 576, out TcpSegmentation.Layout layout));
        Assert.Equal(576 - 20 - 32, layout.SegmentSize);
        Assert.Equal(576, layout.FrameLength(0));
        Assert.Equal(8, layout.FrameCount); // 4000 / 524, rounded up
    }

    [Theory]
    [InlineData("udp")]
    [InlineData("fragment")]
    [InlineData("length")]
    [InlineData("no-payload")]
    [InlineData("tiny-mtu")]
    [InlineData("data-offset")]
    public void Datagrams_a_nic_would_not_cut_are_refused(string kind)
    {
        byte[] datagram = kind switch
        {
            "udp" => Packets.IPv4(Packets.A, Packets.B, IPProtocol.Udp, new byte[3000]),
            "fragment" => Packets.IPv4(Packets.A, Packets.B, IPProtocol.Tcp, new byte[3000], moreFragments: true),
            "no-payload" => Large([], TcpFlags.Ack),
            _ => Large(new byte[3000], TcpFlags.Ack),
        };
        if (kind == "length")
        {
            datagram = datagram[..^1]; // the IP total length no longer matches
        }
        else if (kind == "data-offset")
        {
            datagram[IPv4Header.Length + 12] = 0x40; // a TCP header of 16 bytes
        }

        Assert.False(TcpSegmentation.TryGetLayout(datagram, Mss, kind == "tiny-mtu" ? 52 : 1500, out _));
    }

    [Fact]
    public void A_frame_buffer_of_the_wrong_length_is_refused()
    {
        byte[] large = Large(new byte[3000], TcpFlags.Ack);
        Assert.True(TcpSegmentation.TryGetLayout(large, Mss, 1500, out TcpSegmentation.Layout layout));

        Assert.Throws<ArgumentOutOfRangeException>(() => TcpSegmentation.WriteFrame(large, layout, 0, new byte[layout.FrameLength(0) - 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => TcpSegmentation.WriteFrame(large, layout, layout.FrameCount, new byte[100]));
    }

    /// <summary>A large segment 10.0.0.1:40000 → 10.0.0.2:80, sequence 1000, with timestamps (32-byte header), DF set.</summary>
    private static byte[] Large(byte[] payload, TcpFlags flags, ushort identification = 1)
    {
        var header = new TcpHeader
        {
            SourcePort = 40000,
            DestinationPort = 80,
            SequenceNumber = new SeqNumber(1000),
            AcknowledgmentNumber = new SeqNumber(77),
            Flags = flags,
            Window = 500,
            Options = new TcpOptions { HasTimestamp = true, TsVal = 123456, TsEcr = 654321 },
        };
        return Packets.IPv4(Packets.A, Packets.B, IPProtocol.Tcp, Packets.Tcp(header, payload, Packets.A, Packets.B), identification);
    }
}
