using Wirestack.Links;
using Wirestack.Time;

namespace Wirestack.Tests.Links;

public sealed class PcapWriterTests
{
    [Fact]
    public void Constructor_IpMedium_WritesNanosecondGlobalHeaderWithLinktypeRaw()
    {
        var output = new MemoryStream();

        using (new PcapWriter(output, LinkMedium.Ip))
        {
        }

        byte[] expected =
        [
            0x4d, 0x3c, 0xb2, 0xa1,     // magic 0xa1b23c4d (nanosecond), little-endian
            0x02, 0x00, 0x04, 0x00,     // version 2.4
            0x00, 0x00, 0x00, 0x00,     // thiszone
            0x00, 0x00, 0x00, 0x00,     // sigfigs
            0x00, 0x00, 0x04, 0x00,     // snaplen 262144
            0x65, 0x00, 0x00, 0x00,     // LINKTYPE_RAW (101)
        ];
        Assert.Equal(expected, output.ToArray());
    }

    [Fact]
    public void Constructor_EthernetMedium_WritesLinktypeEthernetAndSnapLength()
    {
        var output = new MemoryStream();

        var writer = new PcapWriter(output, LinkMedium.Ethernet, snapLength: 1514);

        byte[] header = output.ToArray();
        Assert.Equal(PcapWriter.FileHeaderLength, header.Length);
        Assert.Equal(new byte[] { 0xea, 0x05, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 }, header[16..24]);
        Assert.Equal(1u, writer.LinkType);
    }

    [Fact]
    public void Write_RecordsSecondsNanosecondsAndLengths()
    {
        var output = new MemoryStream();
        var writer = new PcapWriter(output, LinkMedium.Ip);

        writer.Write([0xde, 0xad, 0xbe], new Instant(1_234_567_890));

        byte[] record = output.ToArray()[PcapWriter.FileHeaderLength..];
        byte[] expected =
        [
            0xd2, 0x04, 0x00, 0x00,     // ts_sec 1234
            0x50, 0x50, 0xd9, 0x21,     // ts_nsec 567,890,000 (567,890 µs × 1000)
            0x03, 0x00, 0x00, 0x00,     // incl_len
            0x03, 0x00, 0x00, 0x00,     // orig_len
            0xde, 0xad, 0xbe,
        ];
        Assert.Equal(expected, record);
        Assert.Equal(1, writer.RecordCount);
    }

    [Fact]
    public void Write_PacketLongerThanSnapLength_KeepsTheSnapLengthAndTheOriginalLength()
    {
        var output = new MemoryStream();
        var writer = new PcapWriter(output, LinkMedium.Ip, snapLength: 4);

        writer.Write([1, 2, 3, 4, 5, 6], Instant.Zero);

        byte[] record = output.ToArray()[PcapWriter.FileHeaderLength..];
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 1, 2, 3, 4 }, record);
    }

    [Fact]
    public void Write_InstantBeforeOrigin_WrapsSecondsAndKeepsNanosecondsPositive()
    {
        var output = new MemoryStream();
        var writer = new PcapWriter(output, LinkMedium.Ip);

        writer.Write([], new Instant(-1));

        Assert.Equal(new byte[] { 0xff, 0xff, 0xff, 0xff, 0x18, 0xc6, 0x9a, 0x3b }, output.ToArray()[24..32]);
    }

    [Fact]
    public void Write_ManyPacketsOfGrowingSize_LaysRecordsBackToBack()
    {
        var output = new MemoryStream();
        var writer = new PcapWriter(output, LinkMedium.Ip);
        int[] lengths = [20, 3000, 70000, 1];

        for (int i = 0; i < lengths.Length; i++)
        {
            writer.Write(Enumerable.Repeat((byte)i, lengths[i]).ToArray(), new Instant(i));
        }

        byte[] file = output.ToArray();
        int offset = PcapWriter.FileHeaderLength;
        for (int i = 0; i < lengths.Length; i++)
        {
            Assert.Equal(i * 1000u, BitConverter.ToUInt32(file, offset + 4));
            Assert.Equal((uint)lengths[i], BitConverter.ToUInt32(file, offset + 8));
            Assert.All(file[(offset + 16)..(offset + 16 + lengths[i])], b => Assert.Equal((byte)i, b));
            offset += PcapWriter.RecordHeaderLength + lengths[i];
        }

        Assert.Equal(file.Length, offset);
    }

    [Fact]
    public void Dispose_LeavesTheStreamOpenUnlessToldOtherwise()
    {
        var kept = new MemoryStream();
        new PcapWriter(kept, LinkMedium.Ip).Dispose();
        Assert.True(kept.CanWrite);

        var closed = new MemoryStream();
        var writer = new PcapWriter(closed, LinkMedium.Ip, leaveOpen: false);
        writer.Dispose();
        Assert.False(closed.CanWrite);
        Assert.Throws<ObjectDisposedException>(() => writer.Write([1], Instant.Zero));
    }
}
