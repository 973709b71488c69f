using BenchmarkDotNet.Attributes;
using Wirestack.Wire;

namespace Wirestack.Benchmarks;

/// <summary>Header parse and emit on the hot path: an IPv4 + TCP SYN with MSS, SACK-permitted, timestamps and
/// window scale (views, checksums, option parsing); a full-size data segment; and emitting a TCP header with
/// timestamps and SACK blocks plus the checksum over a 1460-byte payload; and the TSO cut of a 64 KiB segment.</summary>
[MemoryDiagnoser]
public class HeaderBenchmarks
{
    private static readonly IPv4Address s_source = new(10, 0, 0, 1);
    private static readonly IPv4Address s_destination = new(10, 0, 0, 2);

    private byte[] _syn = [];
    private byte[] _dataSegment = [];
    private byte[] _emitBuffer = [];
    private byte[] _largeSegment = [];
    private readonly byte[] _frame = new byte[1500];
    private TcpHeader _emitHeader;

    [GlobalSetup]
    public void Setup()
    {
        var syn = new TcpHeader
        {
            SourcePort = 53966,
            DestinationPort = 80,
            SequenceNumber = new SeqNumber(0xfe52cf21),
            Flags = TcpFlags.Syn,
            Window = 65535,
            Options = new TcpOptions { Mss = 1460, SackPermitted = true, HasTimestamp = true, TsVal = 2063645359, WindowScale = 7 },
        };
        _syn = Datagram(syn, 0);

        var data = new TcpHeader
        {
            SourcePort = 53966,
            DestinationPort = 80,
            SequenceNumber = new SeqNumber(1),
            AcknowledgmentNumber = new SeqNumber(1),
            Flags = TcpFlags.Ack | TcpFlags.Psh,
            Window = 512,
            Options = new TcpOptions { HasTimestamp = true, TsVal = 1, TsEcr = 2 },
        };
        _dataSegment = Datagram(data, 1448);
        _largeSegment = Datagram(data, 45 * 1448);

        _emitHeader = data;
        _emitHeader.Options.SackCount = 2;
        _emitHeader.Options.Sacks[0] = new SackBlock(new SeqNumber(1000), new SeqNumber(2000));
        _emitHeader.Options.Sacks[1] = new SackBlock(new SeqNumber(3000), new SeqNumber(4000));
        _emitBuffer = new byte[_emitHeader.Length + 1460];
        new Random(9293).NextBytes(_emitBuffer);
    }

    private static byte[] Datagram(in TcpHeader tcp, int payloadLength)
    {
        int segmentLength = tcp.Length + payloadLength;
        byte[] datagram = new byte[IPv4Header.Length + segmentLength];
        new Random(791).NextBytes(datagram.AsSpan(IPv4Header.Length + tcp.Length));
        tcp.WriteTo(datagram.AsSpan(IPv4Header.Length), s_source, s_destination);
        new IPv4Header(s_source, s_destination, IPProtocol.Tcp, segmentLength, DontFragment: true).WriteTo(datagram);
        return datagram;
    }

    [Benchmark]
    public int ParseIPv4TcpSynWithOptions() => Parse(_syn);

    [Benchmark]
    public int ParseIPv4Tcp1448ByteDataSegment() => Parse(_dataSegment);

    /// <summary>A NIC's TSO cut (<see cref="TcpSegmentation"/>, the simulated wire's <c>HardwareSegmentation</c>):
    /// a 45-MSS segment (65,160 bytes of payload) into 45 frames, headers adjusted and each frame's checksum computed
    /// while its payload is copied.</summary>
    [Benchmark]
    public int CutLargeSegmentInto45Frames()
    {
        TcpSegmentation.TryGetLayout(_largeSegment, 1448, 1500, out TcpSegmentation.Layout layout);
        int total = 0;
        for (int i = 0; i < layout.FrameCount; i++)
        {
            int length = layout.FrameLength(i);
            TcpSegmentation.WriteFrame(_largeSegment, layout, i, _frame.AsSpan(0, length));
            total += _frame[length - 1];
        }

        return total;
    }

    [Benchmark]
    public ushort EmitTcpHeaderWithOptionsAndChecksum1460()
    {
        _emitHeader.WriteTo(_emitBuffer, s_source, s_destination);
        return (ushort)(_emitBuffer[16] << 8 | _emitBuffer[17]);
    }

    private static int Parse(byte[] bytes)
    {
        if (IPv4Packet.TryCreate(bytes, out IPv4Packet packet) != HeaderError.None ||
            IPv4Header.TryParse(packet, out IPv4Header ip) != HeaderError.None ||
            TcpSegment.TryCreate(packet.Payload, out TcpSegment segment) != HeaderError.None ||
            TcpHeader.TryParse(segment, ip.Source, ip.Destination, out TcpHeader tcp) != HeaderError.None)
        {
            throw new InvalidOperationException("benchmark input does not parse");
        }

        return tcp.Window + (tcp.Options.Mss ?? 0) + segment.Payload.Length;
    }
}
