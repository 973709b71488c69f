// SYN cookies, RFC 4987 §3.6: when the SYN queue is full the listener keeps no state for a SYN; it encodes what it
// must remember (a coarse time and the MSS) in its ISN, keyed by a secret, and rebuilds the connection when the
// final ACK returns. Like Linux without timestamps, options other than the MSS are lost on such connections.
using System.Buffers.Binary;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

/// <summary>Encodes and checks SYN cookies.</summary>
public sealed class SynCookies
{
    /// <summary>MSS values a cookie can carry (3 bits), largest first.</summary>
    private static readonly ushort[] s_mssTable = [8960, 1460, 1440, 1400, 1300, 1220, 536, 88];

    private readonly SipHash _prf;

    /// <param name="secret">At least 16 bytes, the key of the cookie's keyed hash (SipHash-2-4, as Linux).</param>
    public SynCookies(ReadOnlySpan<byte> secret) => _prf = SipHash.FromSecret(secret);

    /// <summary>How long a cookie stays valid, in 64-second ticks (Linux MAX_SYNCOOKIE_AGE is 2 minutes).</summary>
    public const int MaxAgeTicks = 2;

    private static uint Tick(Instant now) => (uint)(now.Microseconds / 64_000_000);

    private uint Hash(FourTuple tuple, SeqNumber clientIsn, uint tick)
    {
        Span<byte> input = stackalloc byte[20];
        BinaryPrimitives.WriteUInt32BigEndian(input, tuple.LocalAddress.Value);
        BinaryPrimitives.WriteUInt32BigEndian(input[4..], tuple.RemoteAddress.Value);
        BinaryPrimitives.WriteUInt16BigEndian(input[8..], tuple.LocalPort);
        BinaryPrimitives.WriteUInt16BigEndian(input[10..], tuple.RemotePort);
        BinaryPrimitives.WriteUInt32BigEndian(input[12..], clientIsn.Value);
        BinaryPrimitives.WriteUInt32BigEndian(input[16..], tick);
        return unchecked((uint)_prf.Compute(input));
    }

    /// <summary>The ISN for a SYN answered statelessly: 27 bits of keyed hash, 2 bits of time, 3 bits of MSS.</summary>
    public SeqNumber Encode(FourTuple tuple, SeqNumber clientIsn, int mss, Instant now)
    {
        int index = s_mssTable.Length - 1;
        for (int i = 0; i < s_mssTable.Length; i++)
        {
            if (s_mssTable[i] <= mss)
            {
                index = i;
                break;
            }
        }

        uint tick = Tick(now);
        uint hash = Hash(tuple, clientIsn, tick);
        return new SeqNumber((hash & 0xFFFF_FFE0u) | ((tick & 3) << 3) | (uint)index);
    }

    /// <summary>Checks the ACK of a cookie SYN-ACK (SEG.ACK - 1 is the cookie) and returns the MSS it carried.</summary>
    public bool TryDecode(FourTuple tuple, SeqNumber clientIsn, SeqNumber cookie, Instant now, out int mss)
    {
        mss = 0;
        uint current = Tick(now);
        for (uint age = 0; age <= MaxAgeTicks; age++)
        {
            uint tick = current - age;
            if (((cookie.Value >> 3) & 3) != (tick & 3))
            {
                continue;
            }

            if ((Hash(tuple, clientIsn, tick) & 0xFFFF_FFE0u) == (cookie.Value & 0xFFFF_FFE0u))
            {
                mss = s_mssTable[cookie.Value & 7];
                return true;
            }
        }

        return false;
    }
}
