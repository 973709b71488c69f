using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Benchmarks;

/// <summary>
/// One Wirestack stack (10.0.0.1) whose peer (10.0.0.2) is played by the benchmark, segment by segment, in the
/// manner of <see cref="HostHarness"/> and <see cref="CaptureLink"/> but without their per-packet copies
/// (<c>CaptureLink</c> keeps a <c>byte[]</c> of every packet sent and <c>PacketBuffer.FromBytes</c> allocates one
/// per packet injected), so that MemoryDiagnoser sees only what the stack itself allocates. Time is a manual clock
/// advanced by the benchmark.
/// </summary>
internal sealed class PeerHarness
{
    public static readonly IPv4Address Local = new(10, 0, 0, 1);
    public static readonly IPv4Address Peer = new(10, 0, 0, 2);
    public const ushort LocalPort = 5001;
    public const ushort PeerPort = 40000;

    private Instant _now = new(1_000_000);

    public PeerHarness()
    {
        Stack = new NetStack(new NetStackOptions { Name = "bench", Seed = 1 }, () => _now);
        Link = new InjectLink();
        Stack.AddInterface(Link, new IPv4Cidr(Local, 24));
    }

    public NetStack Stack { get; }

    public InjectLink Link { get; }

    public Instant Now => _now;

    public void Advance(long microseconds) => _now = new Instant(_now.Microseconds + microseconds);

    /// <summary>Lets the stack take what was injected and fire due timers.</summary>
    public void Poll()
    {
        lock (Stack.SyncRoot)
        {
            for (int i = 0; i < 16 && Stack.Poll(_now); i++)
            {
            }
        }
    }

    /// <summary>The peer opens a connection to a listener on the stack (SYN with Linux's options, the stack's
    /// SYN-ACK, the final ACK) and the stack accepts it. Returns the accepted socket (non-blocking), the stack's
    /// next sequence number and the peer's.</summary>
    public (NetSocket Socket, uint LocalNext, uint PeerNext) AcceptFromPeer()
    {
        var listener = new NetSocket(Stack, SocketType.Stream) { Blocking = false };
        listener.Bind(IPv4Address.Any, LocalPort);
        listener.Listen(16);
        uint peerIss = 1000;
        var syn = new TcpHeader
        {
            SourcePort = PeerPort, DestinationPort = LocalPort, SequenceNumber = new SeqNumber(peerIss), Flags = TcpFlags.Syn, Window = 65535,
            Options = new TcpOptions { Mss = 1460, SackPermitted = true, HasTimestamp = true, TsVal = 1, WindowScale = 7 },
        };
        Link.Inject(SegmentBuilder.Tcp(Peer, Local, syn));
        Poll();
        if (!SegmentBuilder.TryParseTcp(Link.LastSent, out _, out TcpHeader synAck, out _) || !synAck.Has(TcpFlags.Syn | TcpFlags.Ack))
        {
            throw new InvalidOperationException("no SYN-ACK");
        }

        uint localNext = synAck.SequenceNumber.Value + 1;
        var ack = new TcpHeader
        {
            SourcePort = PeerPort, DestinationPort = LocalPort, SequenceNumber = new SeqNumber(peerIss + 1),
            AcknowledgmentNumber = new SeqNumber(localNext), Flags = TcpFlags.Ack, Window = 65535,
            Options = new TcpOptions { HasTimestamp = true, TsVal = 2, TsEcr = synAck.Options.TsVal },
        };
        Link.Inject(SegmentBuilder.Tcp(Peer, Local, ack));
        Poll();
        NetSocket socket = listener.Accept(out SocketError error) ?? throw new InvalidOperationException($"accept: {error}");
        socket.Blocking = false;
        return (socket, localNext, peerIss + 1);
    }

    /// <summary>A segment from the peer (ACK set, timestamps) whose sequence and acknowledgment numbers can be
    /// rewritten in place, checksum updated incrementally (RFC 1624).</summary>
    public static PeerSegment Segment(uint seq, uint ack, int payloadLength, uint tsEcr)
    {
        var header = new TcpHeader
        {
            SourcePort = PeerPort, DestinationPort = LocalPort, SequenceNumber = new SeqNumber(seq), AcknowledgmentNumber = new SeqNumber(ack),
            Flags = payloadLength > 0 ? TcpFlags.Ack | TcpFlags.Psh : TcpFlags.Ack, Window = 65535,
            Options = new TcpOptions { HasTimestamp = true, TsVal = 3, TsEcr = tsEcr },
        };
        byte[] payload = new byte[payloadLength];
        new Random(payloadLength).NextBytes(payload);
        return new PeerSegment(SegmentBuilder.Tcp(Peer, Local, header, payload));
    }
}

/// <summary>A datagram from the peer whose TCP sequence and acknowledgment numbers are rewritten in place.</summary>
internal sealed class PeerSegment(byte[] datagram)
{
    private const int Tcp = IPv4Header.Length;

    public byte[] Datagram { get; } = datagram;

    public uint Sequence
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(Datagram.AsSpan(Tcp + 4));
        set => Rewrite(Tcp + 4, value);
    }

    public uint Acknowledgment
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(Datagram.AsSpan(Tcp + 8));
        set => Rewrite(Tcp + 8, value);
    }

    private void Rewrite(int offset, uint value)
    {
        Span<byte> bytes = Datagram;
        ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(bytes[(Tcp + 16)..]);
        checksum = InternetChecksum.Update(checksum, BinaryPrimitives.ReadUInt16BigEndian(bytes[offset..]), (ushort)(value >> 16));
        checksum = InternetChecksum.Update(checksum, BinaryPrimitives.ReadUInt16BigEndian(bytes[(offset + 2)..]), (ushort)value);
        BinaryPrimitives.WriteUInt32BigEndian(bytes[offset..], value);
        BinaryPrimitives.WriteUInt16BigEndian(bytes[(Tcp + 16)..], checksum);
    }
}

/// <summary>An IP link whose far end is the benchmark: injected datagrams are copied into buffers from the link's
/// own pool (as a NIC's DMA would), packets the stack sends are counted, their last bytes kept in one reused
/// array, and disposed. Nothing allocates once the pools are warm.</summary>
internal sealed class InjectLink : ILinkDevice
{
    private readonly PacketBufferPool _pool = new(new MemoryBudget(64L << 20));
    private readonly PacketBuffer?[] _ring = new PacketBuffer?[64];
    private readonly byte[] _lastSent = new byte[65536];
    private int _head;
    private int _count;
    private int _lastSentLength;

    public string Name => "bench0";

    public LinkMedium Medium => LinkMedium.Ip;

    public int Mtu => 1500;

    public LinkCounters Counters { get; } = new();

    /// <summary>The last datagram the stack sent.</summary>
    public ReadOnlySpan<byte> LastSent => _lastSent.AsSpan(0, _lastSentLength);

    public long SentCount { get; private set; }

    public void Transmit(PacketBuffer packet, Instant now)
    {
        SentCount++;
        _lastSentLength = Math.Min(packet.Length, _lastSent.Length);
        packet.Span[.._lastSentLength].CopyTo(_lastSent);
        packet.Dispose();
    }

    public void Inject(ReadOnlySpan<byte> datagram)
    {
        if (_count == _ring.Length || !_pool.TryRent(datagram.Length, BudgetCause.PacketRx, out PacketBuffer? buffer))
        {
            throw new InvalidOperationException("inject ring full");
        }

        datagram.CopyTo(buffer.Append(datagram.Length));
        _ring[(_head + _count++) % _ring.Length] = buffer;
    }

    public bool TryReceive(Instant now, [NotNullWhen(true)] out PacketBuffer? packet)
    {
        if (_count == 0)
        {
            packet = null;
            return false;
        }

        packet = _ring[_head]!;
        _ring[_head] = null;
        _head = (_head + 1) % _ring.Length;
        _count--;
        return true;
    }

    public Instant? PollAt => _count > 0 ? Instant.Zero : null;
}
