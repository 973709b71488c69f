// ICMPv4. Read first: RFC 792 (messages), RFC 1122 §3.2.2 (when a host must and must not send errors, and how it
// passes received errors to the transport), RFC 1812 §4.3.2.8 (rate limiting).
using Wirestack.Buffers;
using Wirestack.Diagnostics;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Icmp;

/// <summary>Receives an echo reply for the identifier it registered (a ping client).</summary>
public interface IEchoReplyListener
{
    void OnEchoReply(IPv4Address from, ushort sequence, ReadOnlySpan<byte> payload, Instant now);
}

/// <summary>The ICMP layer: answers echo requests, sends and rate-limits errors, and passes received errors to the
/// transport that sent the quoted datagram.</summary>
public sealed class IcmpLayer : IIPDispatcher, IIcmpErrorSender
{
    private readonly IPv4Layer _ip;
    private readonly IcmpCounters _counters;
    private readonly Dictionary<ushort, IEchoReplyListener> _echoListeners = new();
    private double _tokens;
    private Instant _lastRefill;

    public IcmpLayer(IPv4Layer ip, IcmpCounters counters)
    {
        _ip = ip;
        _counters = counters;
        _tokens = ErrorBurst;
        ip.RegisterProtocol(IPProtocol.Icmp, this);
        ip.IcmpErrors = this;
    }

    /// <summary>Linux <c>icmp_msgs_per_sec</c>: errors sent per second at most (token bucket).</summary>
    public int ErrorsPerSecond { get; set; } = 1000;

    /// <summary>Linux <c>icmp_msgs_burst</c>.</summary>
    public int ErrorBurst { get; set; } = 50;

    /// <summary>Answer echo requests (Linux <c>icmp_echo_ignore_all</c> = 0).</summary>
    public bool AnswerEcho { get; set; } = true;

    public void RegisterEchoListener(ushort identifier, IEchoReplyListener listener) => _echoListeners[identifier] = listener;

    public void UnregisterEchoListener(ushort identifier) => _echoListeners.Remove(identifier);

    public void Deliver(in IPv4Header ip, PacketBuffer packet, Instant now)
    {
        _counters.InMsgs++;
        if (IcmpV4Packet.TryCreate(packet.Span, out IcmpV4Packet message) != HeaderError.None)
        {
            _counters.InErrors++;
            return;
        }

        if (!message.IsChecksumValid)
        {
            _counters.InErrors++;
            _counters.InCsumErrors++;
            return;
        }

        switch (message.Type)
        {
            case IcmpV4Type.Echo:
                _counters.InEchos++;
                if (AnswerEcho && !ip.Destination.IsBroadcast)
                {
                    SendEchoReply(ip, message, now);
                }

                break;
            case IcmpV4Type.EchoReply:
                _counters.InEchoReps++;
                if (_echoListeners.TryGetValue(message.Identifier, out IEchoReplyListener? listener))
                {
                    listener.OnEchoReply(ip.Source, message.SequenceNumber, message.Body, now);
                }

                break;
            case IcmpV4Type.DestinationUnreachable:
            case IcmpV4Type.TimeExceeded:
            case IcmpV4Type.ParameterProblem:
                if (message.Type == IcmpV4Type.DestinationUnreachable) _counters.InDestUnreachs++;
                if (message.Type == IcmpV4Type.TimeExceeded) _counters.InTimeExcds++;
                DeliverError(message, now);
                break;
        }
    }

    /// <summary>RFC 1122 §3.2.2: the error quotes the offending datagram's header and at least 8 bytes of its data;
    /// the transport named in the quoted header gets it.</summary>
    private void DeliverError(IcmpV4Packet message, Instant now)
    {
        ReadOnlySpan<byte> body = message.Body;
        if (body.Length < IPv4Packet.MinHeaderLength || body[0] >> 4 != 4)
        {
            _counters.InErrors++;
            return;
        }

        int headerLength = (body[0] & 0x0F) * 4;
        if (headerLength < IPv4Packet.MinHeaderLength || body.Length < headerLength + 8)
        {
            _counters.InErrors++;
            return;
        }

        // The quoted datagram is cut short, so its total length field cannot be trusted: rebuild a view over what
        // is present by reading the header fields directly.
        byte protocol = body[9];
        IIPDispatcher? dispatcher = _ip.DispatcherFor(protocol);
        if (dispatcher is null || dispatcher == this)
        {
            return; // RFC 1122 §3.2.2: never act on errors about ICMP errors
        }

        if (QuotedDatagram.TryCreate(body, out IPv4Packet quoted))
        {
            dispatcher.DeliverIcmpError(message.Type, message.Code, message.NextHopMtu, quoted, now);
        }
    }

    private void SendEchoReply(in IPv4Header ip, IcmpV4Packet request, Instant now)
    {
        int length = request.Bytes.Length;
        if (!_ip.TryRentPacket(length, out PacketBuffer? reply))
        {
            _counters.OutErrors++;
            return;
        }

        Span<byte> bytes = reply!.Append(length);
        request.Bytes.CopyTo(bytes);
        IcmpV4Packet.WriteHeader(bytes, IcmpV4Type.EchoReply, 0, request.Identifier, request.SequenceNumber);
        _counters.OutMsgs++;
        _counters.OutEchoReps++;
        _ip.Output(reply, ip.Destination, ip.Source, IPProtocol.Icmp, now);
    }

    /// <summary>Sends an echo request (the ping client's call).</summary>
    public System.Net.Sockets.SocketError SendEcho(IPv4Address destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> payload, Instant now)
    {
        IPv4Address? source = _ip.SelectSource(destination);
        if (source is null)
        {
            return System.Net.Sockets.SocketError.NetworkUnreachable;
        }

        if (!_ip.TryRentPacket(IcmpV4Packet.HeaderLength + payload.Length, out PacketBuffer? packet))
        {
            return System.Net.Sockets.SocketError.NoBufferSpaceAvailable;
        }

        Span<byte> bytes = packet!.Append(IcmpV4Packet.HeaderLength + payload.Length);
        payload.CopyTo(bytes[IcmpV4Packet.HeaderLength..]);
        IcmpV4Packet.WriteHeader(bytes, IcmpV4Type.Echo, 0, identifier, sequence);
        _counters.OutMsgs++;
        _counters.OutEchos++;
        return _ip.Output(packet, source.Value, destination, IPProtocol.Icmp, now);
    }

    public void SendDestinationUnreachable(byte code, ReadOnlySpan<byte> offending, Instant now)
    {
        if (IPv4Packet.TryCreate(offending, out IPv4Packet datagram) != HeaderError.None)
        {
            return;
        }

        // RFC 1122 §3.2.2: no error about an ICMP error, a non-initial fragment, or a broadcast/multicast datagram.
        if (datagram.FragmentOffset != 0 || datagram.Destination.IsBroadcast || datagram.Destination.IsMulticast ||
            datagram.Source.IsUnspecified || datagram.Source.IsBroadcast)
        {
            return;
        }

        if (datagram.Protocol == IPProtocol.Icmp && datagram.Payload.Length > 0 && datagram.Payload[0] is not (IcmpV4Type.Echo or IcmpV4Type.EchoReply))
        {
            return;
        }

        if (!TakeToken(now))
        {
            _counters.OutRateLimited++;
            return;
        }

        // RFC 792: the IP header plus the first 64 bits of the datagram's data (RFC 1812 §4.3.2.3 allows more;
        // we quote up to 548 bytes so the whole error stays within 576).
        int quoteLength = Math.Min(datagram.TotalLength, 548);
        if (!_ip.TryRentPacket(IcmpV4Packet.HeaderLength + quoteLength, out PacketBuffer? packet))
        {
            _counters.OutErrors++;
            return;
        }

        Span<byte> bytes = packet!.Append(IcmpV4Packet.HeaderLength + quoteLength);
        datagram.Bytes[..quoteLength].CopyTo(bytes[IcmpV4Packet.HeaderLength..]);
        IcmpV4Packet.WriteHeader(bytes, IcmpV4Type.DestinationUnreachable, code, 0, 0);
        _counters.OutMsgs++;
        _counters.OutDestUnreachs++;
        _ip.Output(packet, datagram.Destination, datagram.Source, IPProtocol.Icmp, now);
    }

    public void DeliverIcmpError(byte type, byte code, ushort nextHopMtu, IPv4Packet quoted, Instant now)
    {
        // errors about our own ICMP messages are not acted on (RFC 1122 §3.2.2)
    }

    /// <summary>RFC 1812 §4.3.2.8 rate limiting as a token bucket (Linux icmp_msgs_per_sec / icmp_msgs_burst).</summary>
    private bool TakeToken(Instant now)
    {
        double elapsed = (now - _lastRefill).TotalSeconds;
        if (elapsed > 0)
        {
            _tokens = Math.Min(ErrorBurst, _tokens + elapsed * ErrorsPerSecond);
            _lastRefill = now;
        }

        if (_tokens < 1)
        {
            return false;
        }

        _tokens -= 1;
        return true;
    }
}
