using System.Buffers.Binary;

namespace Wirestack.Wire.Tests;

/// <summary>RFC 826: the ARP view for Ethernet/IPv4.</summary>
public sealed class ArpPacketTests
{
    [Fact]
    [Trait("Rfc", "826")]
    public void TryCreate_Request_ReadsEveryField()
    {
        Assert.Equal(HeaderError.None, ArpPacket.TryCreate(Vectors.ArpRequest, out ArpPacket arp));
        Assert.Equal(ArpPacket.HardwareTypeEthernet, arp.HardwareType);
        Assert.Equal(EtherType.IPv4, arp.ProtocolType);
        Assert.Equal(ArpOperation.Request, arp.Operation);
        Assert.Equal(Packets.MacA, arp.SenderMac);
        Assert.Equal(Packets.A, arp.SenderIp);
        Assert.Equal(MacAddress.Zero, arp.TargetMac);
        Assert.Equal(Packets.B, arp.TargetIp);
        Assert.Equal(28, arp.Bytes.Length);
    }

    [Fact]
    [Trait("Rfc", "826")]
    public void Write_Request_ProducesTheHandAssembledBytes()
    {
        byte[] bytes = new byte[ArpPacket.Length];

        int written = ArpPacket.Write(bytes, ArpOperation.Request, Packets.MacA, Packets.A, MacAddress.Zero, Packets.B);

        Assert.Equal(28, written);
        Assert.Equal(Hex.Format(Vectors.ArpRequest), Hex.Format(bytes));
    }

    [Fact]
    public void WriteThenTryCreate_Reply_RoundTrips()
    {
        byte[] bytes = new byte[40];
        ArpPacket.Write(bytes, ArpOperation.Reply, Packets.MacB, Packets.B, Packets.MacA, Packets.A);

        Assert.Equal(HeaderError.None, ArpPacket.TryCreate(bytes, out ArpPacket arp));
        Assert.Equal(ArpOperation.Reply, arp.Operation);
        Assert.Equal(Packets.MacB, arp.SenderMac);
        Assert.Equal(Packets.B, arp.SenderIp);
        Assert.Equal(Packets.MacA, arp.TargetMac);
        Assert.Equal(Packets.A, arp.TargetIp);
        Assert.Equal(28, arp.Bytes.Length); // trailing bytes (padding) are not part of the view
    }

    [Fact]
    public void TryCreate_PaddedEthernetPayload_IsTrimmed()
    {
        EthernetFrame.TryCreate(Vectors.ArpRequestFrame, out EthernetFrame frame);

        Assert.Equal(HeaderError.None, ArpPacket.TryCreate(frame.Payload, out ArpPacket arp));
        Assert.Equal(28, arp.Bytes.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(27)]
    public void TryCreate_Short_IsTruncated(int length)
    {
        Assert.Equal(HeaderError.Truncated, ArpPacket.TryCreate(Vectors.ArpRequest.AsSpan(0, length), out _));
    }

    [Theory]
    [Trait("Rfc", "826")]
    [InlineData(0, 6)]        // hardware type 6 (IEEE 802)
    [InlineData(0, 0)]        // hardware type 0
    [InlineData(2, 0x86dd)]   // protocol IPv6
    [InlineData(2, 0x0806)]   // protocol ARP
    public void TryCreate_OtherHardwareOrProtocolType_IsUnsupported(int offset, int value)
    {
        byte[] bytes = Vectors.ArpRequest;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(offset), (ushort)value);

        Assert.Equal(HeaderError.Unsupported, ArpPacket.TryCreate(bytes, out _));
    }

    [Theory]
    [Trait("Rfc", "826")]
    [InlineData(4, 8)]  // hardware length 8
    [InlineData(4, 0)]
    [InlineData(5, 16)] // protocol length 16
    [InlineData(5, 6)]
    public void TryCreate_OtherAddressLengths_IsUnsupported(int offset, byte value)
    {
        byte[] bytes = Vectors.ArpRequest;
        bytes[offset] = value;

        Assert.Equal(HeaderError.Unsupported, ArpPacket.TryCreate(bytes, out _));
        Assert.Equal(HeaderError.Unsupported, ArpPacket.TryCreate(bytes.AsSpan(0, 8), out _));
    }

    [Fact]
    public void Write_ShortSpan_Throws()
    {
        Assert.Throws<ArgumentException>(() => ArpPacket.Write(new byte[27], ArpOperation.Request, Packets.MacA, Packets.A, MacAddress.Zero, Packets.B));
    }

    [Fact]
    public void ToString_Request_IsTcpdumpStyle()
    {
        ArpPacket.TryCreate(Vectors.ArpRequest, out ArpPacket arp);

        Assert.Equal("ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28", arp.ToString());
    }
}
