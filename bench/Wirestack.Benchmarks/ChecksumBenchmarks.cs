using BenchmarkDotNet.Attributes;
using Wirestack.Wire;

namespace Wirestack.Benchmarks;

/// <summary>RFC 1071 Internet checksum: the vectorised <see cref="InternetChecksum"/> against a plain
/// 16-bit-at-a-time loop, at a small packet, a full Ethernet segment payload and a 64 KiB GSO-sized buffer.</summary>
[MemoryDiagnoser]
public class ChecksumBenchmarks
{
    private byte[] _data = [];

    [Params(64, 1460, 65536)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(1071).NextBytes(_data);
    }

    [Benchmark]
    public ushort Vectorised() => InternetChecksum.Compute(_data);

    [Benchmark(Baseline = true)]
    public ushort Scalar()
    {
        ReadOnlySpan<byte> data = _data;
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += (uint)((data[i] << 8) | data[i + 1]);
        }

        if (i < data.Length)
        {
            sum += (uint)(data[i] << 8);
        }

        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
