using System.Buffers.Binary;

namespace Wirestack.Wire.Tests;

/// <summary>RFC 791 §3.1: the IPv4 view, its header record, and every <see cref="HeaderError"/> they return.</summary>
public sealed class IPv4PacketTests
{
    private static byte[] ExampleDatagram()
    {
        // The example header says total length 115: give it its 95 bytes of (zero) payload.
        byte[] datagram = new byte[115];
        Vectors.IPv4HeaderExample.CopyTo(datagram, 0);
        return datagram;
    }

    [Fact]
    [Trait("Rfc", "791 §3.1")]
    public void TryCreate_RealHeader_ReadsEveryField()
    {
        byte[] datagram = ExampleDatagram();

        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(datagram, out IPv4Packet packet));
        Assert.Equal(20, packet.HeaderLength);
        Assert.Equal(115, packet.TotalLength);
        Assert.Equal(0, packet.Tos);
        Assert.Equal(0, packet.Identification);
        Assert.True(packet.DontFragment);
        Assert.False(packet.MoreFragments);
        Assert.False(packet.ReservedFlag);
        Assert.False(packet.IsFragment);
        Assert.Equal(0, packet.FragmentOffset);
        Assert.Equal(64, packet.Ttl);
        Assert.Equal(IPProtocol.Udp, packet.Protocol);
        Assert.Equal(0xb861, packet.HeaderChecksum);
        Assert.Equal(IPv4Address.Parse("192.168.0.1"), packet.Source);
        Assert.Equal(IPv4Address.Parse("192.168.0.199"), packet.Destination);
        Assert.True(packet.Options.IsEmpty);
        Assert.Equal(95, packet.Payload.Length);
        Assert.True(packet.IsChecksumValid);
    }

    [Fact]
    [Trait("Rfc", "791 §3.1")]
    public void WriteTo_ParsedRealHeader_ReproducesTheBytesAndChecksumB861()
    {
        IPv4Packet.TryCreate(ExampleDatagram(), out IPv4Packet packet);
        Assert.Equal(HeaderError.None, IPv4Header.TryParse(packet, out IPv4Header header));
        Assert.Equal(new IPv4Header(IPv4Address.Parse("192.168.0.1"), IPv4Address.Parse("192.168.0.199"), IPProtocol.Udp, 95, DontFragment: true), header);

        byte[] written = new byte[IPv4Header.Length];
        header.WriteTo(written);

        Assert.Equal(Hex.Format(Vectors.IPv4HeaderExample), Hex.Format(written));
    }

    [Fact]
    public void TryCreate_LinkPadding_IsTrimmedToTotalLength()
    {
        byte[] padded = [.. Vectors.LinuxUdp, 0, 0, 0, 0, 0, 0];

        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(padded, out IPv4Packet packet));
        Assert.Equal(32, packet.Bytes.Length);
        Assert.Equal(12, packet.Payload.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(19)]
    public void TryCreate_ShorterThanMinimumHeader_IsTruncated(int length)
    {
        Assert.Equal(HeaderError.Truncated, IPv4Packet.TryCreate(ExampleDatagram().AsSpan(0, length), out _));
    }

    [Theory]
    [InlineData(0x65)]
    [InlineData(0x05)]
    [InlineData(0xF5)]
    public void TryCreate_VersionNotFour_IsBadVersion(byte firstByte)
    {
        byte[] datagram = ExampleDatagram();
        datagram[0] = firstByte;

        Assert.Equal(HeaderError.BadVersion, IPv4Packet.TryCreate(datagram, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [Trait("Rfc", "791 §3.1")]
    public void TryCreate_IhlBelowFive_IsBadLength(int ihl)
    {
        byte[] datagram = ExampleDatagram();
        datagram[0] = (byte)(0x40 | ihl);

        Assert.Equal(HeaderError.BadLength, IPv4Packet.TryCreate(datagram, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(19)]
    [InlineData(23)]
    public void TryCreate_TotalLengthBelowHeaderLength_IsBadLength(int totalLength)
    {
        byte[] datagram = Packets.IPv4WithOptions([1, 1, 1, 0], payloadLength: 8);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), (ushort)totalLength);

        Assert.Equal(HeaderError.BadLength, IPv4Packet.TryCreate(datagram, out _));
    }

    [Fact]
    public void TryCreate_TotalLengthBeyondBytes_IsTruncated()
    {
        Assert.Equal(HeaderError.Truncated, IPv4Packet.TryCreate(ExampleDatagram().AsSpan(0, 114), out _));
    }

    [Fact]
    public void TryCreate_IhlBeyondBytes_IsTruncated()
    {
        byte[] datagram = ExampleDatagram().AsSpan(0, 40).ToArray();
        datagram[0] = 0x4F; // 60-byte header in 40 bytes
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), 40);

        Assert.Equal(HeaderError.BadLength, IPv4Packet.TryCreate(datagram, out _)); // total 40 < header 60
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), 60);
        Assert.Equal(HeaderError.Truncated, IPv4Packet.TryCreate(datagram, out _));
    }

    [Theory]
    [Trait("Rfc", "791 §3.1")]
    [InlineData("01 01 01 01")]                      // NOPs
    [InlineData("00 ff ff ff")]                      // End of Option List: the rest is padding
    [InlineData("94 04 00 00")]                      // Router Alert (RFC 2113)
    [InlineData("01 07 07 04 00 00 00 00 00 00 00 00")] // NOP, Record Route with room for one address… and padding
    public void TryCreate_WellFormedOptions_AreAccepted(string options)
    {
        byte[] datagram = Packets.IPv4WithOptions(Hex.Parse(options), payloadLength: 4);

        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(datagram, out IPv4Packet packet));
        Assert.Equal(Hex.Parse(options).Length, packet.Options.Length);
        Assert.Equal(4, packet.Payload.Length);
        Assert.Equal(HeaderError.None, IPv4Header.TryParse(packet, out IPv4Header header));
        Assert.Equal(4, header.PayloadLength);
    }

    [Theory]
    [Trait("Rfc", "791 §3.1")]
    [InlineData("94 00 00 00")] // length 0
    [InlineData("94 01 00 00")] // length 1
    [InlineData("94 05 00 00")] // runs one byte past the header
    [InlineData("01 01 94 ff")] // runs far past the header
    [InlineData("01 01 01 94")] // type byte with no room for its length
    public void TryCreate_MalformedOptionLength_IsBadOption(string options)
    {
        byte[] datagram = Packets.IPv4WithOptions(Hex.Parse(options));

        Assert.Equal(HeaderError.BadOption, IPv4Packet.TryCreate(datagram, out _));
    }

    [Fact]
    [Trait("Rfc", "791 §3.1")]
    public void TryParse_CorruptedHeader_IsBadChecksum()
    {
        byte[] datagram = ExampleDatagram();
        datagram[8] = 63; // TTL changed without patching the checksum

        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(datagram, out IPv4Packet packet));
        Assert.False(packet.IsChecksumValid);
        Assert.Equal(HeaderError.BadChecksum, IPv4Header.TryParse(packet, out _));
    }

    [Fact]
    public void TryParse_PayloadCorruption_DoesNotAffectHeaderChecksum()
    {
        byte[] datagram = ExampleDatagram();
        datagram[100] ^= 0xFF;
        IPv4Packet.TryCreate(datagram, out IPv4Packet packet);

        Assert.Equal(HeaderError.None, IPv4Header.TryParse(packet, out _));
    }

    [Fact]
    public void WriteThenParse_RandomHeaders_RoundTrip()
    {
        var random = new Random(791);
        byte[] buffer = new byte[IPv4Header.Length + 1500];
        for (int trial = 0; trial < 5000; trial++)
        {
            bool moreFragments = random.Next(2) == 0;
            var header = new IPv4Header(
                new IPv4Address((uint)random.NextInt64(0, 1L << 32)),
                new IPv4Address((uint)random.NextInt64(0, 1L << 32)),
                (byte)random.Next(256),
                random.Next(0, 1501),
                Ttl: (byte)random.Next(256),
                Tos: (byte)random.Next(256),
                Identification: (ushort)random.Next(65536),
                DontFragment: !moreFragments && random.Next(2) == 0,
                MoreFragments: moreFragments,
                FragmentOffset: random.Next(0, 8192) * 8);

            header.WriteTo(buffer);

            Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(buffer, out IPv4Packet packet));
            Assert.Equal(HeaderError.None, IPv4Header.TryParse(packet, out IPv4Header parsed));
            Assert.Equal(header, parsed);
        }
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(-20, 0)]
    [InlineData(65516, 0)]
    [InlineData(0, 4)]
    [InlineData(0, 65536)]
    [InlineData(0, -8)]
    public void WriteTo_ImpossibleHeader_Throws(int payloadLength, int fragmentOffset)
    {
        var header = new IPv4Header(Packets.A, Packets.B, IPProtocol.Udp, payloadLength, FragmentOffset: fragmentOffset);

        Assert.Throws<ArgumentException>(() => header.WriteTo(new byte[20]));
    }

    [Fact]
    public void WriteTo_ShortDestination_Throws()
    {
        Assert.Throws<ArgumentException>(() => new IPv4Header(Packets.A, Packets.B, IPProtocol.Udp, 0).WriteTo(new byte[19]));
    }

    [Fact]
    public void FragmentFields_ReadFromFlagsAndOffset()
    {
        byte[] datagram = Packets.IPv4(Packets.A, Packets.B, IPProtocol.Udp, new byte[16], identification: 7, moreFragments: true, fragmentOffset: 1480);

        IPv4Packet.TryCreate(datagram, out IPv4Packet packet);

        Assert.True(packet.IsFragment);
        Assert.True(packet.MoreFragments);
        Assert.False(packet.DontFragment);
        Assert.Equal(1480, packet.FragmentOffset);
        Assert.Equal(7, packet.Identification);
        Assert.Equal("IP 10.0.0.1 > 10.0.0.2: proto 17 len 36 id 7 ttl 64 frag 1480+", packet.ToString());
    }
}
