namespace Wirestack.Wire.Tests;

/// <summary>RFC 792: the ICMPv4 view.</summary>
public sealed class IcmpV4PacketTests
{
    [Fact]
    [Trait("Rfc", "792")]
    public void TryCreate_LinuxPortUnreachable_ReadsFieldsAndQuotedDatagram()
    {
        byte[] datagram = Vectors.LinuxPortUnreachable;
        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(datagram, out IPv4Packet ip));
        Assert.Equal(HeaderError.None, IPv4Header.TryParse(ip, out _));

        Assert.Equal(HeaderError.None, IcmpV4Packet.TryCreate(ip.Payload, out IcmpV4Packet icmp));
        Assert.Equal(IcmpV4Type.DestinationUnreachable, icmp.Type);
        Assert.Equal(IcmpV4UnreachableCode.Port, icmp.Code);
        Assert.Equal(0x63d8, icmp.Checksum);
        Assert.True(icmp.IsChecksumValid);
        Assert.True(icmp.IsError);

        // RFC 792: the body is the original internet header plus at least 64 bits of its data.
        Assert.Equal(HeaderError.None, IPv4Packet.TryCreate(icmp.Body, out IPv4Packet quoted));
        Assert.Equal(IPProtocol.Udp, quoted.Protocol);
        Assert.Equal(HeaderError.None, UdpDatagram.TryCreate(quoted.Payload, out UdpDatagram udp));
        Assert.Equal(5353, udp.DestinationPort);
    }

    [Fact]
    [Trait("Rfc", "792")]
    public void WriteHeader_Echo_RoundTripsAndChecksumVerifies()
    {
        byte[] message = Packets.IcmpEcho(IcmpV4Type.Echo, 0x1234, 7, "abcdefgh"u8);

        Assert.Equal(HeaderError.None, IcmpV4Packet.TryCreate(message, out IcmpV4Packet icmp));
        Assert.Equal(IcmpV4Type.Echo, icmp.Type);
        Assert.Equal(0, icmp.Code);
        Assert.Equal(0x1234, icmp.Identifier);
        Assert.Equal(7, icmp.SequenceNumber);
        Assert.True(icmp.Body.SequenceEqual("abcdefgh"u8));
        Assert.True(icmp.IsChecksumValid);
        Assert.False(icmp.IsError);
        Assert.Equal(ScalarChecksum.Checksum([.. message.AsSpan(0, 2), 0, 0, .. message.AsSpan(4)]), icmp.Checksum);
    }

    [Fact]
    public void WriteHeader_OddLengthBody_ChecksumVerifies()
    {
        byte[] message = Packets.IcmpEcho(IcmpV4Type.EchoReply, 1, 1, "odd"u8);

        IcmpV4Packet.TryCreate(message, out IcmpV4Packet icmp);

        Assert.True(icmp.IsChecksumValid);
    }

    [Fact]
    public void IsChecksumValid_CorruptedBody_IsFalse()
    {
        byte[] message = Packets.IcmpEcho(IcmpV4Type.Echo, 1, 1, "abcdefgh"u8);
        message[^1] ^= 1;

        IcmpV4Packet.TryCreate(message, out IcmpV4Packet icmp);

        Assert.False(icmp.IsChecksumValid);
    }

    [Fact]
    public void NextHopMtu_FragmentationNeeded_ReadsLowSixteenBits()
    {
        // RFC 1191 §4: unused (16 bits) then Next-Hop MTU (16 bits).
        byte[] message = new byte[8 + 28];
        IcmpV4Packet.WriteHeader(message, IcmpV4Type.DestinationUnreachable, IcmpV4UnreachableCode.FragmentationNeeded, 0, 1400);

        IcmpV4Packet.TryCreate(message, out IcmpV4Packet icmp);

        Assert.Equal(1400, icmp.NextHopMtu);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void TryCreate_ShorterThanHeader_IsTruncated(int length)
    {
        Assert.Equal(HeaderError.Truncated, IcmpV4Packet.TryCreate(new byte[length], out _));
    }
}
