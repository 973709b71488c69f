using System.Buffers.Binary;
using System.Text;

namespace Wirestack.Wire.Tests;

/// <summary>RFC 768: the UDP view and header record.</summary>
public sealed class UdpTests
{
    private static byte[] CapturedDatagram() => Vectors.LinuxUdp.AsSpan(IPv4Header.Length).ToArray();

    [Fact]
    [Trait("Rfc", "768")]
    public void TryCreate_RealDatagram_ReadsFieldsAndChecksumVerifies()
    {
        byte[] bytes = CapturedDatagram();

        Assert.Equal(HeaderError.None, UdpDatagram.TryCreate(bytes, out UdpDatagram datagram));
        Assert.Equal(40000, datagram.SourcePort);
        Assert.Equal(5353, datagram.DestinationPort);
        Assert.Equal(12, datagram.Length);
        Assert.Equal(0x66db, datagram.Checksum);
        Assert.Equal("wire", Encoding.ASCII.GetString(datagram.Payload));
        Assert.Equal(HeaderError.None, UdpHeader.TryParse(datagram, Vectors.Loopback, Vectors.Loopback, out UdpHeader header));
        Assert.Equal(new UdpHeader(40000, 5353), header);
    }

    [Fact]
    public void WriteTo_CapturedFields_ReproducesTheCapture()
    {
        byte[] written = Packets.Udp(40000, 5353, "wire"u8, Vectors.Loopback, Vectors.Loopback);

        Assert.Equal(Hex.Format(CapturedDatagram()), Hex.Format(written));
    }

    [Fact]
    [Trait("Rfc", "768")]
    public void TryParse_ZeroChecksum_MeansNoneAndIsAccepted()
    {
        byte[] bytes = CapturedDatagram();
        bytes[6] = 0;
        bytes[7] = 0;
        UdpDatagram.TryCreate(bytes, out UdpDatagram datagram);

        Assert.Equal(HeaderError.None, UdpHeader.TryParse(datagram, Vectors.Loopback, Vectors.Loopback, out _));
    }

    [Fact]
    [Trait("Rfc", "768")]
    public void TryParse_WrongChecksumOrWrongPseudoHeader_IsBadChecksum()
    {
        byte[] bytes = CapturedDatagram();
        UdpDatagram.TryCreate(bytes, out UdpDatagram datagram);
        Assert.Equal(HeaderError.BadChecksum, UdpHeader.TryParse(datagram, Vectors.Loopback, Packets.B, out _));

        bytes[^1] ^= 0x01;
        UdpDatagram.TryCreate(bytes, out datagram);
        Assert.Equal(HeaderError.BadChecksum, UdpHeader.TryParse(datagram, Vectors.Loopback, Vectors.Loopback, out _));
    }

    [Fact]
    [Trait("Rfc", "768")]
    public void WriteTo_ComputedChecksumZero_IsSentAsAllOnesAndVerifies()
    {
        // Make the payload's last word equal to the checksum computed with it zero: then the sum becomes
        // all ones and the computed checksum is zero, which RFC 768 says to transmit as 0xFFFF.
        byte[] payload = new byte[6];
        byte[] first = Packets.Udp(1234, 4321, payload, Packets.A, Packets.B);
        payload[4] = first[6];
        payload[5] = first[7];

        byte[] bytes = Packets.Udp(1234, 4321, payload, Packets.A, Packets.B);

        Assert.Equal(0xFFFF, BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(6)));
        UdpDatagram.TryCreate(bytes, out UdpDatagram datagram);
        Assert.Equal(HeaderError.None, UdpHeader.TryParse(datagram, Packets.A, Packets.B, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void TryCreate_ShorterThanHeader_IsTruncated(int length)
    {
        Assert.Equal(HeaderError.Truncated, UdpDatagram.TryCreate(CapturedDatagram().AsSpan(0, length), out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [Trait("Rfc", "768")]
    public void TryCreate_LengthFieldBelowEight_IsBadLength(int length)
    {
        byte[] bytes = CapturedDatagram();
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), (ushort)length);

        Assert.Equal(HeaderError.BadLength, UdpDatagram.TryCreate(bytes, out _));
    }

    [Theory]
    [InlineData(13)]
    [InlineData(65535)]
    public void TryCreate_LengthFieldBeyondBytes_IsTruncated(int length)
    {
        byte[] bytes = CapturedDatagram();
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), (ushort)length);

        Assert.Equal(HeaderError.Truncated, UdpDatagram.TryCreate(bytes, out _));
    }

    [Fact]
    public void TryCreate_LengthFieldShorterThanBytes_TrimsToLengthField()
    {
        byte[] bytes = [.. CapturedDatagram(), 0xAA, 0xBB];

        Assert.Equal(HeaderError.None, UdpDatagram.TryCreate(bytes, out UdpDatagram datagram));
        Assert.Equal(12, datagram.Bytes.Length);
        Assert.Equal(HeaderError.None, UdpHeader.TryParse(datagram, Vectors.Loopback, Vectors.Loopback, out _));
    }

    [Fact]
    public void WriteThenParse_RandomDatagrams_RoundTrip()
    {
        var random = new Random(768);
        for (int trial = 0; trial < 2000; trial++)
        {
            byte[] payload = new byte[random.Next(0, 1473)];
            random.NextBytes(payload);
            var header = new UdpHeader((ushort)random.Next(65536), (ushort)random.Next(65536));
            var source = new IPv4Address((uint)random.NextInt64(0, 1L << 32));
            var destination = new IPv4Address((uint)random.NextInt64(0, 1L << 32));
            byte[] bytes = new byte[UdpHeader.Length + payload.Length];
            payload.CopyTo(bytes, UdpHeader.Length);

            header.WriteTo(bytes, source, destination);

            Assert.Equal(HeaderError.None, UdpDatagram.TryCreate(bytes, out UdpDatagram datagram));
            Assert.Equal(HeaderError.None, UdpHeader.TryParse(datagram, source, destination, out UdpHeader parsed));
            Assert.Equal(header, parsed);
            Assert.True(datagram.Payload.SequenceEqual(payload));
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(65536)]
    public void WriteTo_ImpossibleLength_Throws(int length)
    {
        Assert.Throws<ArgumentException>(() => new UdpHeader(1, 2).WriteTo(new byte[length], Packets.A, Packets.B));
    }
}
