using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>
/// Told by <see cref="Reassembler.Expire(Wirestack.Time.Instant, ReassemblyTimedOut?)"/> about a datagram that timed
/// out after its fragment zero had arrived. RFC 1122 §3.3.2: the host "MUST" discard it and send ICMP Time Exceeded
/// (code 1, "fragment reassembly time exceeded") to the source "if fragment zero has been received". RFC 792, Time
/// Exceeded Message: the message carries "the internet header plus the first 64 bits of the original datagram's
/// data", which is exactly <paramref name="firstFragmentPrefix"/> (the header as received, options included).
/// </summary>
/// <remarks>The span is valid only during the call, and the handler must not call back into the reassembler.</remarks>
public delegate void ReassemblyTimedOut(IPv4Address source, IPv4Address destination, ReadOnlySpan<byte> firstFragmentPrefix);
