using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Time;

namespace Wirestack.Tests.Links;

public sealed class PcapLinkTests
{
    [Fact]
    public void PcapLink_CapturesTransmittedAndReceivedPacketsAndPassesEverythingThrough()
    {
        var output = new MemoryStream();
        var writer = new PcapWriter(output, LinkMedium.Ip);
        var lo = new LoopbackLink(mtu: 9000);
        var link = new PcapLink(lo, writer);

        link.Transmit(PacketBuffer.FromBytes([0x45, 1, 2]), Instant.FromMilliseconds(1));
        link.Transmit(PacketBuffer.FromBytes([0x45, 3]), Instant.FromMilliseconds(2));
        Assert.Equal(lo.PollAt, link.PollAt);
        Assert.True(link.TryReceive(Instant.FromMilliseconds(3), out PacketBuffer? first));
        first.Dispose();
        Assert.True(link.TryReceive(Instant.FromMilliseconds(4), out PacketBuffer? second));
        second.Dispose();
        Assert.False(link.TryReceive(Instant.FromMilliseconds(5), out _));

        Assert.Equal("lo", link.Name);
        Assert.Equal(9000, link.Mtu);
        Assert.Equal(LinkMedium.Ip, link.Medium);
        Assert.Same(lo.Counters, link.Counters);
        Assert.Same(lo, link.Inner);
        Assert.Equal(4, writer.RecordCount);
        byte[] file = output.ToArray();
        List<(uint Nanoseconds, byte[] Bytes)> records = ReadRecords(file);
        Assert.Equal([1_000_000u, 2_000_000u, 3_000_000u, 4_000_000u], records.Select(r => r.Nanoseconds));
        Assert.Equal(new byte[] { 0x45, 1, 2 }, records[0].Bytes);
        Assert.Equal(new byte[] { 0x45, 3 }, records[1].Bytes);
        Assert.Equal(new byte[] { 0x45, 1, 2 }, records[2].Bytes);
        Assert.Equal(new byte[] { 0x45, 3 }, records[3].Bytes);
    }

    [Fact]
    public void PcapLink_TransmitOverMtu_IsStillCapturedBeforeTheInnerDeviceDropsIt()
    {
        var output = new MemoryStream();
        var writer = new PcapWriter(output, LinkMedium.Ip);
        var link = new PcapLink(new LoopbackLink(mtu: 68), writer);

        link.Transmit(PacketBuffer.FromBytes(new byte[69]), Instant.Zero);

        Assert.Equal(1, writer.RecordCount);
        Assert.Equal(1, link.Counters.TxDropped);
    }

    [Fact]
    public void PcapLink_WriterForAnotherMedium_IsRefused()
    {
        var writer = new PcapWriter(new MemoryStream(), LinkMedium.Ethernet);

        ArgumentException error = Assert.Throws<ArgumentException>(() => new PcapLink(new LoopbackLink(), writer));
        Assert.Contains("Ethernet", error.Message);
    }

    [Fact]
    public void PcapLink_OverSimulatedPort_AllocatesNoCaptureBufferPerPacket()
    {
        var wire = new SimulatedWire(new Random(3), LinkImpairments.None, LinkImpairments.None);
        var writer = new PcapWriter(Stream.Null, LinkMedium.Ip);
        var a = new PcapLink(wire.A, writer);
        var b = new PcapLink(wire.B, writer);
        var pool = new PacketBufferPool(new MemoryBudget(1024 * 1024));
        long t = 0;
        void Run(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var now = new Instant(t++);
                Assert.True(pool.TryRent(1400, BudgetCause.PacketTx, out PacketBuffer? packet));
                packet.Append(1400);
                a.Transmit(packet, now);
                Assert.True(b.TryReceive(now, out PacketBuffer? received));
                received.Dispose();
            }
        }

        Run(2000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(2000);

        // Less than one byte per packet: nothing is allocated per packet (the runtime may allocate a little on its
        // own, e.g. when tiered compilation replaces a method mid-loop).
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 2000, $"{allocated} B allocated over 2000 packets");
        Assert.Equal(8000, writer.RecordCount);
        Assert.Equal(0, wire.Pool.LeasedCount);
        Assert.Equal(0, pool.LeasedCount);
    }

    internal static List<(uint Nanoseconds, byte[] Bytes)> ReadRecords(byte[] file)
    {
        var records = new List<(uint, byte[])>();
        int offset = PcapWriter.FileHeaderLength;
        while (offset < file.Length)
        {
            uint nanoseconds = BitConverter.ToUInt32(file, offset + 4);
            int length = (int)BitConverter.ToUInt32(file, offset + 8);
            records.Add((nanoseconds, file[(offset + 16)..(offset + 16 + length)]));
            offset += PcapWriter.RecordHeaderLength + length;
        }

        return records;
    }
}
