using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Wirestack.Wire;

/// <summary>One SACK block: the sequence range [Left, Right) received (RFC 2018 §3).</summary>
public readonly record struct SackBlock(SeqNumber Left, SeqNumber Right);

/// <summary>Room for the at most four SACK blocks a header can carry.</summary>
[InlineArray(4)]
public struct SackBlocks
{
    private SackBlock _element0;
}

/// <summary>
/// The TCP options the stack understands, parsed without allocation: MSS (RFC 9293 §3.2), window scale and
/// timestamps (RFC 7323), SACK-permitted and SACK (RFC 2018). Unknown options are skipped by their length.
/// </summary>
public partial struct TcpOptions : IEquatable<TcpOptions>
{
    public const byte KindEnd = 0;
    public const byte KindNop = 1;
    public const byte KindMss = 2;
    public const byte KindWindowScale = 3;
    public const byte KindSackPermitted = 4;
    public const byte KindSack = 5;
    public const byte KindTimestamp = 8;

    /// <summary>RFC 7323 §2.3: the largest shift a window-scale option may use.</summary>
    public const int MaxWindowScale = 14;

    /// <summary>RFC 9293 §3.1: the data offset is 4 bits of 32-bit words, so at most 60 - 20 = 40 bytes of options.</summary>
    public const int MaxLength = 40;

    /// <summary>RFC 2018 §3: at most four SACK blocks fit in the option space.</summary>
    public const int MaxSackBlocks = 4;

    public ushort? Mss;
    public byte? WindowScale;
    public bool SackPermitted;
    public bool HasTimestamp;
    public uint TsVal;
    public uint TsEcr;
    public int SackCount;
    public SackBlocks Sacks;

    /// <summary>True when a window-scale option above 14 was received (and clamped to 14).</summary>
    public bool WindowScaleClamped;

    /// <summary>Write in FreeBSD's order and alignment (tcp_addoptions: mss; nop, wscale; sackOK; nops to 2 mod 4,
    /// TS; SACK blocks; EOL padding) instead of Linux's. Only SYN and SYN-ACK options differ.</summary>
    public bool BsdLayout;

    /// <summary>Parses the option bytes between the fixed header and the data.</summary>
    public static HeaderError TryParse(ReadOnlySpan<byte> bytes, out TcpOptions options)
    {
        options = default;
        int i = 0;
        while (i < bytes.Length)
        {
            byte kind = bytes[i];
            if (kind == KindEnd)
            {
                break;
            }

            if (kind == KindNop)
            {
                i++;
                continue;
            }

            // RFC 9293 §3.2: every other option has a length byte that counts kind and length too.
            if (i + 1 >= bytes.Length)
            {
                return HeaderError.BadOption;
            }

            int length = bytes[i + 1];
            if (length < 2 || i + length > bytes.Length)
            {
                return HeaderError.BadOption;
            }

            ReadOnlySpan<byte> value = bytes.Slice(i + 2, length - 2);
            HeaderError error = ParseOne(kind, value, ref options);
            if (error != HeaderError.None)
            {
                return error;
            }

            i += length;
        }

        return HeaderError.None;
    }

    private static HeaderError ParseOne(byte kind, ReadOnlySpan<byte> value, ref TcpOptions options)
    {
        switch (kind)
        {
            case KindMss:
                if (value.Length != 2)
                {
                    return HeaderError.BadOption;
                }

                options.Mss = BinaryPrimitives.ReadUInt16BigEndian(value);
                return HeaderError.None;
            case KindWindowScale:
                if (value.Length != 1)
                {
                    return HeaderError.BadOption;
                }

                // RFC 7323 §2.3: a shift above 14 "SHOULD log the error but MUST use 14 instead".
                options.WindowScaleClamped = value[0] > MaxWindowScale;
                options.WindowScale = Math.Min(value[0], (byte)MaxWindowScale);
                return HeaderError.None;
            case KindSackPermitted:
                if (value.Length != 0)
                {
                    return HeaderError.BadOption;
                }

                options.SackPermitted = true;
                return HeaderError.None;
            case KindTimestamp:
                if (value.Length != 8)
                {
                    return HeaderError.BadOption;
                }

                options.HasTimestamp = true;
                options.TsVal = BinaryPrimitives.ReadUInt32BigEndian(value);
                options.TsEcr = BinaryPrimitives.ReadUInt32BigEndian(value[4..]);
                return HeaderError.None;
            case KindSack:
                // RFC 2018 §3: length is 8n + 2 with at most four blocks in 40 bytes of options.
                if (value.Length == 0 || value.Length % 8 != 0 || value.Length / 8 > 4)
                {
                    return HeaderError.BadOption;
                }

                options.SackCount = value.Length / 8;
                for (int b = 0; b < options.SackCount; b++)
                {
                    options.Sacks[b] = new SackBlock(
                        new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(value[(b * 8)..])),
                        new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(value[(b * 8 + 4)..])));
                }

                return HeaderError.None;
            default:
                return HeaderError.None; // unknown kinds are skipped by length
        }
    }

    /// <summary>The bytes <see cref="WriteTo"/> will write, padded to a multiple of 4.</summary>
    public readonly int EncodedLength
    {
        get
        {
            if (BsdLayout)
            {
                return LayoutBsd(default, write: false);
            }

            int n = 0;
            if (Mss.HasValue) n += 4;
            if (WindowScale.HasValue) n += 4;            // NOP + 3
            if (SackPermitted && !HasTimestamp) n += 4;  // NOP NOP + 2
            if (HasTimestamp) n += 12;                   // (SACK_PERM or NOP NOP) + TS
            if (SackCount > 0) n += 4 + 8 * SackCount;   // NOP NOP + 2 + 8n
            return n;
        }
    }

    /// <summary>Writes the options in the usual 4-byte-aligned layout and returns the bytes written.</summary>
    /// <exception cref="ArgumentException">The options do not fit in the 40 bytes a header allows (e.g. timestamps
    /// with four SACK blocks), <see cref="SackCount"/> is outside 0..4, or <paramref name="destination"/> is too short.</exception>
    public readonly int WriteTo(Span<byte> destination)
    {
        if (SackCount > MaxSackBlocks)
        {
            throw new ArgumentException($"{SackCount} SACK blocks; a header holds at most {MaxSackBlocks}");
        }

        int length = EncodedLength;
        if (length > MaxLength)
        {
            throw new ArgumentException($"{length} bytes of TCP options; a header holds at most {MaxLength}");
        }

        if (destination.Length < length)
        {
            throw new ArgumentException($"options need {length} bytes", nameof(destination));
        }

        if (BsdLayout)
        {
            return LayoutBsd(destination, write: true);
        }

        int i = 0;
        if (Mss.HasValue)
        {
            destination[i++] = KindMss;
            destination[i++] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(destination[i..], Mss.Value);
            i += 2;
        }

        if (SackPermitted && HasTimestamp)
        {
            destination[i++] = KindSackPermitted;
            destination[i++] = 2;
            i = WriteTimestamp(destination, i);
        }
        else if (HasTimestamp)
        {
            destination[i++] = KindNop;
            destination[i++] = KindNop;
            i = WriteTimestamp(destination, i);
        }
        else if (SackPermitted)
        {
            destination[i++] = KindNop;
            destination[i++] = KindNop;
            destination[i++] = KindSackPermitted;
            destination[i++] = 2;
        }

        if (WindowScale.HasValue)
        {
            destination[i++] = KindNop;
            destination[i++] = KindWindowScale;
            destination[i++] = 3;
            destination[i++] = WindowScale.Value;
        }

        if (SackCount > 0)
        {
            destination[i++] = KindNop;
            destination[i++] = KindNop;
            destination[i++] = KindSack;
            destination[i++] = (byte)(2 + 8 * SackCount);
            for (int b = 0; b < SackCount; b++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(destination[i..], Sacks[b].Left.Value);
                BinaryPrimitives.WriteUInt32BigEndian(destination[(i + 4)..], Sacks[b].Right.Value);
                i += 8;
            }
        }

        return i;
    }

    /// <summary>FreeBSD's layout: each option aligned as tcp_addoptions aligns it, the end padded with EOL to a multiple
    /// of 4. With <paramref name="write"/> false only the length is computed.</summary>
    private readonly int LayoutBsd(Span<byte> d, bool write)
    {
        int i = 0;
        void Put(Span<byte> d, byte b, ref int i)
        {
            if (write)
            {
                d[i] = b;
            }

            i++;
        }

        if (Mss.HasValue)
        {
            Put(d, KindMss, ref i);
            Put(d, 4, ref i);
            Put(d, (byte)(Mss.Value >> 8), ref i);
            Put(d, (byte)Mss.Value, ref i);
        }

        if (WindowScale.HasValue)
        {
            while (i == 0 || i % 2 != 1) Put(d, KindNop, ref i);
            Put(d, KindWindowScale, ref i);
            Put(d, 3, ref i);
            Put(d, WindowScale.Value, ref i);
        }

        if (SackPermitted)
        {
            while (i % 2 != 0) Put(d, KindNop, ref i);
            Put(d, KindSackPermitted, ref i);
            Put(d, 2, ref i);
        }

        if (HasTimestamp)
        {
            while (i == 0 || i % 4 != 2) Put(d, KindNop, ref i);
            if (write)
            {
                WriteTimestamp(d, i);
            }

            i += 10;
        }

        if (SackCount > 0)
        {
            while (i == 0 || i % 4 != 2) Put(d, KindNop, ref i);
            Put(d, KindSack, ref i);
            Put(d, (byte)(2 + 8 * SackCount), ref i);
            for (int b = 0; b < SackCount; b++)
            {
                if (write)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(d[i..], Sacks[b].Left.Value);
                    BinaryPrimitives.WriteUInt32BigEndian(d[(i + 4)..], Sacks[b].Right.Value);
                }

                i += 8;
            }
        }

        while (i % 4 != 0) Put(d, KindEnd, ref i);
        return i;
    }

    private readonly int WriteTimestamp(Span<byte> destination, int i)
    {
        destination[i++] = KindTimestamp;
        destination[i++] = 10;
        BinaryPrimitives.WriteUInt32BigEndian(destination[i..], TsVal);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(i + 4)..], TsEcr);
        return i + 8;
    }

    public override readonly string ToString()
    {
        var parts = new List<string>();
        if (Mss.HasValue) parts.Add($"mss {Mss}");
        if (SackPermitted) parts.Add("sackOK");
        if (HasTimestamp) parts.Add($"TS val {TsVal} ecr {TsEcr}");
        if (WindowScale.HasValue) parts.Add($"wscale {WindowScale}");
        for (int b = 0; b < SackCount; b++) parts.Add($"sack {Sacks[b].Left}:{Sacks[b].Right}");
        return string.Join(",", parts);
    }
}
