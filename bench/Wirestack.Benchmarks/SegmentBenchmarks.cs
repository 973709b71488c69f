using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Wirestack.Sockets;

namespace Wirestack.Benchmarks;

/// <summary>
/// The steady path of one established connection, a segment at a time, with the peer played by the benchmark
/// (<see cref="PeerHarness"/>): a full-size data segment arriving and being read by the application, and a
/// full-MSS segment being sent and acknowledged. MemoryDiagnoser shows what the stack allocates per segment.
/// </summary>
[MemoryDiagnoser]
public class SegmentInputBenchmarks
{
    private PeerHarness _harness = null!;
    private NetSocket _socket = null!;
    private PeerSegment _segment = null!;
    private readonly byte[] _buffer = new byte[65536];

    [GlobalSetup]
    public void Setup()
    {
        _harness = new PeerHarness();
        (_socket, uint localNext, uint peerNext) = _harness.AcceptFromPeer();
        _segment = PeerHarness.Segment(peerNext, localNext, 1448, tsEcr: 1);
    }

    /// <summary>One 1448-byte data segment in (link → IP → TCP → receive queue; an ACK out every second
    /// segment), then read out by the application (<see cref="NetSocket.Receive(Span{byte}, out SocketError)"/>).</summary>
    [Benchmark]
    public int InputDataSegmentAndRead()
    {
        _harness.Link.Inject(_segment.Datagram);
        _harness.Poll();
        int n = _socket.Receive(_buffer, out SocketError error);
        if (n != 1448 || error != SocketError.Success)
        {
            throw new InvalidOperationException($"read {n} ({error})");
        }

        _segment.Sequence += 1448;
        _harness.Advance(1);
        return n;
    }
}

/// <summary>A full-MSS segment out: the application writes 1448 bytes, the stack sends one segment, the peer
/// acknowledges it and the stack frees the send queue.</summary>
[MemoryDiagnoser]
public class SegmentOutputBenchmarks
{
    private PeerHarness _harness = null!;
    private NetSocket _socket = null!;
    private PeerSegment _ack = null!;
    private readonly byte[] _data = new byte[1448];
    private long _sent;

    [GlobalSetup]
    public void Setup()
    {
        _harness = new PeerHarness();
        (_socket, uint localNext, uint peerNext) = _harness.AcceptFromPeer();
        _socket.Connection!.NoDelay = true;
        _ack = PeerHarness.Segment(peerNext, localNext, 0, tsEcr: 1);
        new Random(1448).NextBytes(_data);
    }

    [Benchmark]
    public int SendFullSegmentAndAck()
    {
        long before = _harness.Link.SentCount;
        int n = _socket.Send(_data, out SocketError error);
        if (n != _data.Length || error != SocketError.Success || _harness.Link.SentCount != before + 1)
        {
            throw new InvalidOperationException($"sent {n} ({error}), {_harness.Link.SentCount - before} segments");
        }

        _sent += n;
        _ack.Acknowledgment += 1448;
        _harness.Link.Inject(_ack.Datagram);
        _harness.Poll();
        _harness.Advance(1);
        return n;
    }
}

/// <summary>The socket calls an event loop makes when there is nothing to do: a read that would block, and a
/// readiness check. Non-blocking calls that return at once should not allocate.</summary>
[MemoryDiagnoser]
public class SocketCallBenchmarks
{
    private NetSocket _socket = null!;
    private readonly byte[] _buffer = new byte[2048];

    [GlobalSetup]
    public void Setup()
    {
        var harness = new PeerHarness();
        (_socket, _, _) = harness.AcceptFromPeer();
    }

    [Benchmark]
    public SocketError ReceiveWouldBlock()
    {
        _socket.Receive(_buffer, out SocketError error);
        return error;
    }

    [Benchmark]
    public SocketReadiness Readiness() => _socket.Readiness;
}
