using System.Buffers.Binary;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>
/// Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
/// where M is a timer ticking every 4 microseconds and F is a keyed pseudorandom function, here SipHash-2-4 (as
/// Linux's secure_tcp_seq) truncated to 32 bits. Each 4-tuple thus gets its own sequence-number space (so an off-path attacker cannot
/// predict one connection's ISN from another's), and successive incarnations of one 4-tuple still move forward
/// with the clock as RFC 9293 §3.4.1 asks.
/// </summary>
/// <remarks>
/// The secret comes from the caller (the stack derives it from its seeded random source), so simulations are
/// deterministic. <see cref="Next"/> allocates nothing: the hash input and output live on the stack.
/// </remarks>
public sealed class IsnGenerator
{
    /// <summary>RFC 6528 §3: M is "a timer that is incremented every 4 microseconds".</summary>
    public const long TickMicroseconds = 4;

    /// <summary>The secret length the stack uses (folded into SipHash's 128-bit key).</summary>
    public const int SecretLength = 32;

    private readonly SipHash _prf;

    /// <param name="secret">The secret key (RFC 6528 §3 "secretkey"); at least 16 bytes, normally
    /// <see cref="SecretLength"/>. It is copied.</param>
    public IsnGenerator(ReadOnlySpan<byte> secret)
    {
        if (secret.Length < 16)
        {
            throw new ArgumentException($"the ISN secret must be at least 16 bytes, not {secret.Length}", nameof(secret));
        }

        _prf = SipHash.FromSecret(secret);
    }

    /// <summary>The ISN for a connection on this 4-tuple (addresses in host order, as
    /// <c>IPv4Address.Value</c>) opened at <paramref name="now"/>.</summary>
    public SeqNumber Next(uint localAddress, ushort localPort, uint remoteAddress, ushort remotePort, Instant now)
    {
        // F(localip, localport, remoteip, remoteport, secretkey), RFC 6528 §3: SipHash over the 12-byte tuple.
        Span<byte> tuple = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(tuple, localAddress);
        BinaryPrimitives.WriteUInt16BigEndian(tuple[4..], localPort);
        BinaryPrimitives.WriteUInt32BigEndian(tuple[6..], remoteAddress);
        BinaryPrimitives.WriteUInt16BigEndian(tuple[10..], remotePort);
        uint f = unchecked((uint)_prf.Compute(tuple));

        // M: the 4 µs clock, modulo 2^32 (it wraps about every 4.77 hours).
        uint m = unchecked((uint)(now.Microseconds / TickMicroseconds));
        return new SeqNumber(unchecked(m + f));
    }
}
