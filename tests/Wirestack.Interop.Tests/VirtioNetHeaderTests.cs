using System.Buffers.Binary;
using Wirestack.Links.Linux;
using Wirestack.Wire;

namespace Wirestack.Interop.Tests;

/// <summary>The virtio-net header of the TUN device's offloads and the receive ring's buffers, without a device: plain
/// facts that run anywhere (no root, no namespace).</summary>
public sealed class VirtioNetHeaderTests
{
    private static readonly IPv4Address s_source = IPv4Address.Parse("10.77.0.2");
    private static readonly IPv4Address s_destination = IPv4Address.Parse("10.77.0.1");

    [Fact]
    public void WriteRead_IsStructVirtioNetHdr_TenBytesLittleEndian()
    {
        var header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoTcpV4, 52, 1448, 20, 16);
        byte[] bytes = new byte[VirtioNetHeader.Size];
        header.Write(bytes);

        // flags, gso_type, hdr_len, gso_size, csum_start, csum_offset (include/uapi/linux/virtio_net.h)
        Assert.Equal(new byte[] { 0x01, 0x01, 52, 0x00, 0xA8, 0x05, 20, 0x00, 16, 0x00 }, bytes);
        Assert.Equal(header, VirtioNetHeader.Read(bytes));
        Assert.True(header.IsGso);
        Assert.False(VirtioNetHeader.Read(new byte[10] { 0, VirtioNetHeader.GsoEcn, 0, 0, 0, 0, 0, 0, 0, 0 }).IsGso);
        Assert.Throws<ArgumentOutOfRangeException>(() => VirtioNetHeader.Read(new byte[9]));
    }

    [Fact]
    public void ForTransmit_LargeTcpSegment_IsGsoTcpV4WithTheMssAndAPartialChecksumThatCompletesToTheFullOne()
    {
        byte[] packet = Tcp(payload: 5 * 1448, optionBytes: 12);
        ushort full = BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(20 + 16));

        VirtioNetHeader? header = VirtioNetHeader.ForTransmit(packet, mtu: 1500, gsoSize: 1448);

        Assert.NotNull(header);
        Assert.Equal(new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoTcpV4, 20 + 32, 1448, 20, 16), header.Value);
        // The field now holds the folded pseudo-header sum (what Linux leaves for CHECKSUM_PARTIAL), not the checksum ...
        ulong pseudo = InternetChecksum.PseudoHeader(s_source, s_destination, 6, packet.Length - 20);
        Assert.Equal((ushort)InternetChecksum.Fold(pseudo), BitConverter.IsLittleEndian
            ? BinaryPrimitives.ReadUInt16LittleEndian(packet.AsSpan(36)) : BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(36)));
        Assert.NotEqual(full, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(36)));
        // ... and completing it as the kernel would gives the full checksum back.
        Assert.True(header.Value.TryCompleteChecksum(packet));
        Assert.Equal(full, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(36)));
    }

    [Fact]
    public void ForTransmit_WithoutAnMss_CutsForTheMtu()
    {
        byte[] packet = Tcp(payload: 3000, optionBytes: 0);
        VirtioNetHeader header = VirtioNetHeader.ForTransmit(packet, mtu: 1500, gsoSize: 0)!.Value;
        Assert.Equal(VirtioNetHeader.GsoTcpV4, header.GsoType);
        Assert.Equal(1460, header.GsoSize);
        Assert.Equal(40, header.HeaderLength);
    }

    [Fact]
    public void ForTransmit_SmallTcp_PartialChecksumNoGso_OtherProtocolsUntouched_OversizeNonTcpRefused()
    {
        byte[] small = Tcp(payload: 100, optionBytes: 12);
        VirtioNetHeader header = VirtioNetHeader.ForTransmit(small, mtu: 1500, gsoSize: 0)!.Value;
        Assert.Equal(new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoNone, 0, 0, 20, 16), header);

        byte[] udp = Udp(200);
        byte[] before = (byte[])udp.Clone();
        Assert.Equal(default(VirtioNetHeader), VirtioNetHeader.ForTransmit(udp, mtu: 1500, gsoSize: 0));
        Assert.Equal(before, udp);
        Assert.Null(VirtioNetHeader.ForTransmit(Udp(3000), mtu: 1500, gsoSize: 0)); // no UFO: over the MTU is refused

        byte[] fragment = Tcp(payload: 3000, optionBytes: 0);
        BinaryPrimitives.WriteUInt16BigEndian(fragment.AsSpan(6), 0x2000); // MF: a fragment is not a TCP segment
        Assert.Null(VirtioNetHeader.ForTransmit(fragment, mtu: 1500, gsoSize: 1460));
    }

    [Fact]
    public void TryCompleteChecksum_KernelPartialTcp_StackVerifiesIt()
    {
        // As the kernel hands a TSO packet over: the checksum field holds the pseudo-header sum over the whole length.
        byte[] packet = Tcp(payload: 40_000, optionBytes: 12);
        ulong pseudo = InternetChecksum.PseudoHeader(s_destination, s_source, 6, packet.Length - 20);
        s_source.Write(packet.AsSpan(16));
        s_destination.Write(packet.AsSpan(12));
        System.Runtime.InteropServices.MemoryMarshal.Write(packet.AsSpan(36), (ushort)InternetChecksum.Fold(pseudo));
        var header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioNetHeader.GsoTcpV4, 52, 1448, 20, 16);

        Assert.True(header.TryCompleteChecksum(packet));

        Assert.Equal(HeaderError.None, TcpSegment.TryCreate(packet.AsSpan(20), out TcpSegment segment));
        Assert.Equal(HeaderError.None, TcpHeader.TryParse(segment, s_destination, s_source, out _)); // Wirestack's own check
        packet[^1] ^= 1;
        Assert.Equal(HeaderError.BadChecksum, TcpHeader.TryParse(segment, s_destination, s_source, out _));
    }

    [Fact]
    public void TryCompleteChecksum_UdpZeroIsAllOnes_OutOfRangeRefused_NothingToDoLeavesBytes()
    {
        byte[] udp = Udp(64);
        // Two payload bytes chosen so that the datagram sums to 0xFFFF: its checksum computes as 0.
        ulong folded = InternetChecksum.Fold(InternetChecksum.Accumulate(udp.AsSpan(20)));
        System.Runtime.InteropServices.MemoryMarshal.Write(udp.AsSpan(28), (ushort)(0xFFFF - folded));
        var partial = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, 0, 0, 0, 20, VirtioNetHeader.UdpChecksumOffset);
        Assert.True(partial.TryCompleteChecksum(udp));
        Assert.Equal(0xFFFF, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(26))); // RFC 768: zero goes as all ones
        ulong verify = InternetChecksum.Accumulate(udp.AsSpan(20), InternetChecksum.PseudoHeader(s_source, s_destination, 17, udp.Length - 20));
        Assert.Equal(0xFFFFul, InternetChecksum.Fold(verify)); // and it verifies as a receiver checks it

        Assert.False(new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, 0, 0, 0, 92, 0).TryCompleteChecksum(udp)); // starts at the end
        // the field straddles the end
        Assert.False(new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, 0, 0, 0, 20, 71).TryCompleteChecksum(udp));
        Assert.False(new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, 0, 0, 0, 20, 1000).TryCompleteChecksum(udp));
        byte[] before = (byte[])udp.Clone();
        Assert.True(new VirtioNetHeader(VirtioNetHeader.FlagDataValid, 0, 0, 0, 0, 0).TryCompleteChecksum(udp));
        Assert.Equal(before, udp);
    }

    [Fact]
    public void Ring_RecyclesBuffers_HoldsItsHighWaterMarkNotOnePerSlot()
    {
        var ring = new SpscPacketRing(1024, 65545);
        for (int i = 0; i < 10_000; i++)
        {
            for (int k = 0; k < 3; k++) // three in flight at most
            {
                byte[] slot = ring.ProducerSlot()!;
                slot[0] = (byte)(i + k);
                ring.Publish(1 + k);
            }

            for (int k = 0; k < 3; k++)
            {
                Assert.True(ring.TryPeek(out Span<byte> packet));
                Assert.Equal(1 + k, packet.Length);
                Assert.Equal((byte)(i + k), packet[0]);
                ring.Release();
            }
        }

        Assert.True(ring.AllocatedBuffers <= 4, $"{ring.AllocatedBuffers} buffers");
        Assert.True(ring.IsEmpty);
    }

    [Fact]
    public void Ring_Full_RefusesThenReusesTheReleasedBuffer()
    {
        var ring = new SpscPacketRing(4, 16);
        for (int i = 0; i < 4; i++)
        {
            ring.ProducerSlot()![0] = (byte)i;
            ring.Publish(1);
        }

        Assert.Null(ring.ProducerSlot());
        Assert.Equal(4, ring.AllocatedBuffers);
        Assert.True(ring.TryPeek(out Span<byte> first));
        Assert.Equal(0, first[0]);
        ring.Release();
        Assert.NotNull(ring.ProducerSlot());
        Assert.Equal(4, ring.AllocatedBuffers); // the released one, not a new one
    }

    /// <summary>An IPv4 TCP segment from 10.77.0.2 to 10.77.0.1 with a correct checksum.</summary>
    private static byte[] Tcp(int payload, int optionBytes)
    {
        int tcpHeader = 20 + optionBytes;
        byte[] packet = new byte[20 + tcpHeader + payload];
        IPv4(packet, 6);
        Span<byte> tcp = packet.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5001);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], 1000);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], 2000);
        tcp[12] = (byte)((tcpHeader / 4) << 4);
        tcp[13] = 0x10; // ACK
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 512);
        for (int i = 20; i < tcpHeader; i++)
        {
            tcp[i] = 1; // NOP
        }

        new Random(5).NextBytes(tcp[tcpHeader..]);
        ulong sum = InternetChecksum.Accumulate(tcp, InternetChecksum.PseudoHeader(s_source, s_destination, 6, tcp.Length));
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum.Finish(sum));
        return packet;
    }

    /// <summary>An IPv4 UDP datagram with a zero payload whose checksum field is the pseudo-header sum (a partial
    /// checksum, as the kernel hands it over).</summary>
    private static byte[] Udp(int payload)
    {
        byte[] packet = new byte[28 + payload];
        IPv4(packet, 17);
        Span<byte> udp = packet.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 5353);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 9);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udp.Length);
        ulong pseudo = InternetChecksum.PseudoHeader(s_source, s_destination, 17, udp.Length);
        System.Runtime.InteropServices.MemoryMarshal.Write(udp[6..], (ushort)InternetChecksum.Fold(pseudo));
        return packet;
    }

    private static void IPv4(byte[] packet, byte protocol)
    {
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), 0x4000); // DF
        packet[8] = 64;
        packet[9] = protocol;
        s_source.Write(packet.AsSpan(12));
        s_destination.Write(packet.AsSpan(16));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), InternetChecksum.Compute(packet.AsSpan(0, 20)));
    }
}
