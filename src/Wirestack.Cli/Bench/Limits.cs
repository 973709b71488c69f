using System.Diagnostics;
using Wirestack.Wire;

namespace Wirestack.Cli.Bench;

/// <summary>The machine's limits for a stack that copies and checksums every byte: memcpy bandwidth
/// (<see cref="Span{T}.CopyTo"/>, which is Buffer.Memmove, the same routine as Buffer.MemoryCopy) and Wirestack's
/// Internet checksum (<see cref="InternetChecksum.Accumulate"/>), both over a cache-hot 64 KiB buffer and over a
/// buffer far larger than the caches (read from memory). In bytes per second (10^9 = 1 GB/s).</summary>
internal static class Limits
{
    public const int HotBytes = 64 * 1024;

    public static double MemcpyHot(TimeSpan time)
    {
        byte[] source = Filled(HotBytes);
        byte[] destination = new byte[HotBytes];
        return Rate(time, HotBytes, () => source.AsSpan().CopyTo(destination));
    }

    public static double MemcpyLarge(int bytes, TimeSpan time)
    {
        byte[] source = Filled(bytes);
        byte[] destination = Filled(bytes); // touched: no page faults inside the timing
        return Rate(time, bytes, () => source.AsSpan().CopyTo(destination), minimumPasses: 3);
    }

    public static double ChecksumHot(TimeSpan time)
    {
        byte[] source = Filled(HotBytes);
        ulong sum = 0;
        double rate = Rate(time, HotBytes, () => sum = InternetChecksum.Accumulate(source, sum));
        GC.KeepAlive(sum);
        return rate;
    }

    public static double ChecksumLarge(int bytes, TimeSpan time)
    {
        byte[] source = Filled(bytes);
        ulong sum = 0;
        double rate = Rate(time, bytes, () => sum = InternetChecksum.Accumulate(source, sum), minimumPasses: 3);
        GC.KeepAlive(sum);
        return rate;
    }

    private static byte[] Filled(int bytes)
    {
        byte[] data = GC.AllocateUninitializedArray<byte>(bytes);
        new Random(bytes).NextBytes(data);
        return data;
    }

    /// <summary>Runs <paramref name="pass"/> untimed until the JIT has optimized it (<see cref="WarmupGate"/>, at
    /// least 3 passes and a fifth of <paramref name="time"/>), then for <paramref name="time"/> (at least
    /// <paramref name="minimumPasses"/> passes); bytes per second.</summary>
    private static double Rate(TimeSpan time, int bytesPerPass, Action pass, int minimumPasses = 100)
    {
        var gate = new WarmupGate(time / 5);
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < 3 || !gate.IsOver(Stopwatch.GetTimestamp() - warmStart); i++)
        {
            pass();
        }

        long passes = 0;
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(time.TotalSeconds * Stopwatch.Frequency);
        long now;
        do
        {
            for (int i = 0; i < 16 && passes < long.MaxValue; i++)
            {
                pass();
                passes++;
                if (bytesPerPass > 1 << 20)
                {
                    break; // large buffers: check the clock after every pass
                }
            }

            now = Stopwatch.GetTimestamp();
        }
        while (now < end || passes < minimumPasses);

        return passes * (double)bytesPerPass / ((double)(now - start) / Stopwatch.Frequency);
    }
}
