namespace Wirestack.Wire.Tests;

/// <summary>SplitMix64 (Steele, Lea and Flood, 2014): a tiny, fast, seeded generator whose sequence never changes
/// between runtime versions, which keeps every mutation run replayable from its seed. A struct, so loops that use
/// it allocate nothing.</summary>
internal struct Prng
{
    private ulong _state;

    public Prng(ulong seed) => _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E37_79B9_7F4A_7C15;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, maxExclusive) by multiply-shift (Lemire); the tiny bias is irrelevant here.</summary>
    public int Next(int maxExclusive) => (int)(((NextUInt64() >> 32) * (ulong)(uint)maxExclusive) >> 32);

    public int Next(int minInclusive, int maxExclusive) => minInclusive + Next(maxExclusive - minInclusive);

    public byte NextByte() => (byte)NextUInt64();

    public ushort NextUInt16() => (ushort)NextUInt64();

    public uint NextUInt32() => (uint)NextUInt64();

    public bool NextBool() => (NextUInt64() & 1) != 0;

    public void Fill(Span<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = NextByte();
        }
    }
}
