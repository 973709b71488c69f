using System.Buffers.Binary;

namespace Wirestack.Wire.Tests;

/// <summary>How a length-like field is encoded, so that edits can aim at the values parsers branch on.</summary>
internal enum FieldKind
{
    Byte,
    UInt16,
    LowNibble,
    HighNibble,
}

/// <summary>A field worth aiming edits at (a length, a type, an option length).</summary>
internal readonly record struct Field(int Offset, FieldKind Kind);

/// <summary>
/// Seeded, allocation-free mutation of a packet in place: bit flips, random and boundary bytes, truncation,
/// extension with random bytes, boundary values written into the known length fields, and small values sprayed over
/// an option area (where kind and length bytes live). The smoltcp fuzz corpus idea without a fuzzing engine.
/// </summary>
internal static class Mutator
{
    private static readonly byte[] s_interestingBytes = [0, 1, 2, 3, 4, 5, 6, 8, 10, 0x0F, 0x10, 0x40, 0x45, 0x4F, 0x7F, 0x80, 0xF0, 0xFF];

    /// <returns>The new length of the packet in <paramref name="buffer"/>.</returns>
    public static int Mutate(ref Prng rng, byte[] buffer, int length, ReadOnlySpan<Field> fields, int optionAreaStart)
    {
        int operations = 1 + rng.Next(4);
        for (int op = 0; op < operations; op++)
        {
            switch (rng.Next(9))
            {
                case 0 when length > 0:
                    buffer[rng.Next(length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when length > 0:
                    buffer[rng.Next(length)] = rng.NextByte();
                    break;
                case 2 when length > 0:
                    buffer[rng.Next(length)] = s_interestingBytes[rng.Next(s_interestingBytes.Length)];
                    break;
                case 3:
                    // Truncation, biased towards cutting just a little.
                    length = rng.NextBool() ? rng.Next(length + 1) : Math.Max(0, length - rng.Next(1, 9));
                    break;
                case 4:
                    int added = Math.Min(rng.Next(1, 65), buffer.Length - length);
                    rng.Fill(buffer.AsSpan(length, added));
                    length += added;
                    break;
                case 5 when fields.Length > 0:
                    EditField(ref rng, buffer, length, fields[rng.Next(fields.Length)]);
                    break;
                case 6 when length >= 2:
                    int at = rng.Next(length - 1);
                    BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(at), Interesting16(ref rng, length));
                    break;
                case 7 when length > optionAreaStart:
                    // Option kinds and lengths: small numbers make the parsers take their interesting branches.
                    int span = Math.Min(40, length - optionAreaStart);
                    buffer[optionAreaStart + rng.Next(span)] = (byte)rng.Next(12);
                    break;
                case 8 when length > 0:
                    // Duplicate a run of bytes elsewhere (repeats options, shifts fields).
                    int from = rng.Next(length);
                    int to = rng.Next(length);
                    int count = Math.Min(rng.Next(1, 16), Math.Min(length - from, length - to));
                    buffer.AsSpan(from, count).CopyTo(buffer.AsSpan(to, count));
                    break;
            }
        }

        return length;
    }

    private static void EditField(ref Prng rng, byte[] buffer, int length, Field field)
    {
        switch (field.Kind)
        {
            case FieldKind.Byte when field.Offset < length:
                buffer[field.Offset] = rng.NextBool() ? s_interestingBytes[rng.Next(s_interestingBytes.Length)] : rng.NextByte();
                break;
            case FieldKind.UInt16 when field.Offset + 1 < length:
                BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(field.Offset), Interesting16(ref rng, length));
                break;
            case FieldKind.LowNibble when field.Offset < length:
                buffer[field.Offset] = (byte)((buffer[field.Offset] & 0xF0) | rng.Next(16));
                break;
            case FieldKind.HighNibble when field.Offset < length:
                buffer[field.Offset] = (byte)((buffer[field.Offset] & 0x0F) | (rng.Next(16) << 4));
                break;
        }
    }

    private static ushort Interesting16(ref Prng rng, int length) => rng.Next(12) switch
    {
        0 => 0,
        1 => 1,
        2 => 7,
        3 => 8,
        4 => 19,
        5 => 20,
        6 => (ushort)Math.Max(0, length - 1),
        7 => (ushort)length,
        8 => (ushort)(length + 1),
        9 => 0xFFFF,
        10 => 0x0800,
        _ => rng.NextUInt16(),
    };
}
