using System.Buffers.Binary;

namespace Wirestack.Simulation.Fuzzing;

/// <summary>
/// Where the fuzzer's choices come from: a seeded <see cref="Random"/> (the in-process fuzzer) or the bytes of an
/// AFL input file (the SharpFuzz harness). Both draw a choice below <c>n</c> with the same width (one byte for
/// n ≤ 256, two for n ≤ 65536, four otherwise), so a seeded run can be recorded as bytes that replay it exactly:
/// that is how fuzz/corpus is made.
/// </summary>
public abstract class FuzzSource
{
    /// <summary>True once a byte source has run out (a random source never does).</summary>
    public abstract bool Exhausted { get; }

    /// <summary>A choice in [0, <paramref name="n"/>).</summary>
    public abstract int Next(int n);

    /// <summary>Any 32-bit value.</summary>
    public abstract uint NextUInt();

    public bool Chance(int percent) => Next(100) < percent;

    /// <summary>A value in [<paramref name="low"/>, <paramref name="high"/>].</summary>
    public int Between(int low, int high) => low + Next(high - low + 1);

    /// <summary>One of <paramref name="items"/>.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    internal static int Width(int n) => n <= 256 ? 1 : n <= 65536 ? 2 : 4;
}

/// <summary>Choices from a seeded generator; optionally writes each as the bytes a <see cref="ByteFuzzSource"/>
/// would decode to the same choice.</summary>
public sealed class RandomFuzzSource(int seed, Stream? record = null) : FuzzSource
{
    private readonly Random _random = new(seed);

    public override bool Exhausted => false;

    public override int Next(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        int value = _random.Next(n);
        if (record is not null)
        {
            Span<byte> bytes = stackalloc byte[4];
            int width = Width(n);
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)value);
            record.Write(bytes[(4 - width)..]);
        }

        return value;
    }

    public override uint NextUInt()
    {
        uint value = (uint)_random.NextInt64(1L << 32);
        if (record is not null)
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
            record.Write(bytes);
        }

        return value;
    }
}

/// <summary>Choices decoded from bytes (an AFL input): past the end every choice is 0 and <see cref="Exhausted"/> is set.</summary>
public sealed class ByteFuzzSource(ReadOnlyMemory<byte> data) : FuzzSource
{
    private int _position;

    public override bool Exhausted => _position >= data.Length;

    public int Position => _position;

    public override int Next(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        return (int)(Read(Width(n)) % (uint)n);
    }

    public override uint NextUInt() => Read(4);

    private uint Read(int width)
    {
        uint value = 0;
        ReadOnlySpan<byte> span = data.Span;
        for (int i = 0; i < width; i++)
        {
            value = value << 8 | (_position < span.Length ? span[_position] : 0u);
            _position++;
        }

        return value;
    }
}
