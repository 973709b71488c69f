using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Wire;

namespace Wirestack.Udp;

/// <summary>A UDP socket's protocol state: its binding, optional connected peer, and its receive queue, bounded by
/// <see cref="ReceiveBufferSize"/> like Linux's <c>sk_rcvbuf</c> (seed 004 §2.3, §3.2).</summary>
public sealed class UdpEndpoint
{
    /// <summary>Bytes charged per queued datagram beyond its payload (Linux charges the skb's truesize).</summary>
    public const int PerDatagramOverhead = 256;

    private readonly Queue<(IPv4Address Address, ushort Port, PacketBuffer Data)> _queue = new();

    internal UdpEndpoint(UdpLayer layer) => Layer = layer;

    internal UdpLayer Layer { get; }

    public IPv4Address LocalAddress { get; internal set; }

    public ushort LocalPort { get; internal set; }

    public IPv4Address RemoteAddress { get; internal set; }

    public ushort RemotePort { get; internal set; }

    public bool IsBound => LocalPort != 0;

    public bool IsConnected => RemotePort != 0;

    /// <summary>Receive-buffer limit in bytes (what getsockopt(SO_RCVBUF) reports).</summary>
    public int ReceiveBufferSize { get; set; }

    /// <summary>Bytes charged by queued datagrams (Recv-Q, Linux sk_rmem_alloc).</summary>
    public int ReceiveQueued { get; private set; }

    public int QueuedDatagrams => _queue.Count;

    /// <summary>Datagrams this socket dropped because its buffer was full (the last column of /proc/net/udp).</summary>
    public long Drops { get; internal set; }

    /// <summary>The pending asynchronous error (SO_ERROR), e.g. ConnectionRefused after an ICMP port unreachable.</summary>
    public SocketError PendingError { get; internal set; }

    public IEndpointObserver? Observer { get; set; }

    internal bool TryEnqueue(IPv4Address from, ushort port, ReadOnlySpan<byte> payload, PacketBufferPool pool)
    {
        int truesize = payload.Length + PerDatagramOverhead;
        if (ReceiveQueued + truesize > ReceiveBufferSize)
        {
            return false;
        }

        if (!pool.TryRent(payload.Length, BudgetCause.ReceiveBuffer, out PacketBuffer? copy))
        {
            return false;
        }

        payload.CopyTo(copy.Append(payload.Length));
        _queue.Enqueue((from, port, copy));
        ReceiveQueued += truesize;
        Observer?.OnEndpointChanged();
        return true;
    }

    /// <summary>Takes the next datagram: copies up to <paramref name="destination"/>.Length bytes (the rest of a
    /// longer datagram is discarded, as recvfrom does) and returns the datagram's full length.</summary>
    public bool TryDequeue(Span<byte> destination, out int datagramLength, out int copied, out IPv4Address from, out ushort port)
    {
        if (!_queue.TryDequeue(out var entry))
        {
            datagramLength = copied = 0;
            from = default;
            port = 0;
            return false;
        }

        datagramLength = entry.Data.Length;
        copied = Math.Min(destination.Length, datagramLength);
        entry.Data.Span[..copied].CopyTo(destination);
        ReceiveQueued -= datagramLength + PerDatagramOverhead;
        from = entry.Address;
        port = entry.Port;
        entry.Data.Dispose();
        return true;
    }

    /// <summary>Length of the next datagram, or -1 when none is queued.</summary>
    public int PeekLength => _queue.TryPeek(out var entry) ? entry.Data.Length : -1;

    internal void ReleaseAll()
    {
        while (_queue.TryDequeue(out var entry))
        {
            entry.Data.Dispose();
        }

        ReceiveQueued = 0;
    }
}
