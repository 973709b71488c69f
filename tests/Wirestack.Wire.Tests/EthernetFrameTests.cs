namespace Wirestack.Wire.Tests;

/// <summary>RFC 894 / IEEE 802.3 §3.2: the Ethernet II view.</summary>
public sealed class EthernetFrameTests
{
    [Fact]
    public void TryCreate_ArpBroadcastFrame_ReadsHeader()
    {
        byte[] frame = Vectors.ArpRequestFrame;

        Assert.Equal(HeaderError.None, EthernetFrame.TryCreate(frame, out EthernetFrame ethernet));
        Assert.Equal(MacAddress.Broadcast, ethernet.Destination);
        Assert.Equal(Packets.MacA, ethernet.Source);
        Assert.Equal(EtherType.Arp, ethernet.EtherType);
        Assert.Equal(14, ethernet.Header.Length);
        Assert.Equal(46, ethernet.Payload.Length); // 28 bytes of ARP and 18 of padding
        Assert.Equal(60, ethernet.Bytes.Length);
    }

    [Fact]
    public void WriteHeader_ThenTryCreate_RoundTrips()
    {
        byte[] frame = Packets.Ethernet(Packets.MacB, Packets.MacA, EtherType.IPv4, Vectors.LinuxSyn);

        Assert.Equal(Hex.Parse("02 00 00 00 00 02 02 00 00 00 00 01 08 00"), frame.AsSpan(0, 14).ToArray());
        Assert.Equal(HeaderError.None, EthernetFrame.TryCreate(frame, out EthernetFrame ethernet));
        Assert.Equal(Packets.MacB, ethernet.Destination);
        Assert.Equal(Packets.MacA, ethernet.Source);
        Assert.Equal(EtherType.IPv4, ethernet.EtherType);
        Assert.True(ethernet.Payload.SequenceEqual(Vectors.LinuxSyn));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(13)]
    public void TryCreate_ShorterThanHeader_IsTruncated(int length)
    {
        Assert.Equal(HeaderError.Truncated, EthernetFrame.TryCreate(Vectors.ArpRequestFrame.AsSpan(0, length), out _));
    }

    [Fact]
    public void TryCreate_HeaderOnly_HasEmptyPayload()
    {
        Assert.Equal(HeaderError.None, EthernetFrame.TryCreate(Vectors.ArpRequestFrame.AsSpan(0, 14), out EthernetFrame ethernet));
        Assert.True(ethernet.Payload.IsEmpty);
    }

    [Fact]
    public void WriteHeader_ShortSpan_Throws()
    {
        Assert.Throws<ArgumentException>(() => EthernetFrame.WriteHeader(new byte[13], Packets.MacA, Packets.MacB, EtherType.IPv4));
    }

    [Fact]
    public void EtherType_Constants_AreTheAssignedNumbers()
    {
        Assert.Equal(0x0800, EtherType.IPv4);
        Assert.Equal(0x0806, EtherType.Arp);
        Assert.Equal("IPv4", EtherType.Name(EtherType.IPv4));
        Assert.Equal("ARP", EtherType.Name(EtherType.Arp));
        Assert.Null(EtherType.Name(0x1234));
    }
}
