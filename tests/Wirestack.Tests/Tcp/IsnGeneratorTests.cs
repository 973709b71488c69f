using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

public class IsnGeneratorTests
{
    private static byte[] Secret(byte seed)
    {
        var secret = new byte[IsnGenerator.SecretLength];
        for (int i = 0; i < secret.Length; i++)
        {
            secret[i] = (byte)(seed + i * 17);
        }

        return secret;
    }

    private const uint Local = 0x0A00_0001;  // 10.0.0.1
    private const uint Remote = 0x0A00_0002; // 10.0.0.2
    private static readonly Instant T = Instant.FromSeconds(12.5);

    [Fact]
    [Trait("Rfc", "6528 §3")]
    public void Same_secret_tuple_and_time_give_the_same_isn()
    {
        var a = new IsnGenerator(Secret(1));
        var b = new IsnGenerator(Secret(1));
        Assert.Equal(a.Next(Local, 40000, Remote, 80, T), b.Next(Local, 40000, Remote, 80, T));
        Assert.Equal(a.Next(Local, 40000, Remote, 80, T), a.Next(Local, 40000, Remote, 80, T));
    }

    [Fact]
    [Trait("Rfc", "6528 §3")]
    public void Each_tuple_and_secret_has_its_own_sequence_space()
    {
        var isn = new IsnGenerator(Secret(1));
        var seen = new HashSet<uint>
        {
            isn.Next(Local, 40000, Remote, 80, T).Value,
            isn.Next(Local, 40001, Remote, 80, T).Value,
            isn.Next(Local, 40000, Remote, 81, T).Value,
            isn.Next(Local + 1, 40000, Remote, 80, T).Value,
            isn.Next(Local, 40000, Remote + 1, 80, T).Value,
            isn.Next(Remote, 80, Local, 40000, T).Value, // the reverse direction
            new IsnGenerator(Secret(2)).Next(Local, 40000, Remote, 80, T).Value,
        };
        Assert.Equal(7, seen.Count);
    }

    [Fact]
    [Trait("Rfc", "6528 §3")]
    public void The_isn_advances_one_step_per_four_microseconds()
    {
        var isn = new IsnGenerator(Secret(3));
        var t = new Instant(1_000_000); // a multiple of 4 us
        SeqNumber at = isn.Next(Local, 1234, Remote, 443, t);
        Assert.Equal(at, isn.Next(Local, 1234, Remote, 443, t + TimeSpan.FromMicroseconds(3)));
        Assert.Equal(at + 1, isn.Next(Local, 1234, Remote, 443, t + TimeSpan.FromMicroseconds(4)));
        Assert.Equal(at + 250_000, isn.Next(Local, 1234, Remote, 443, t + TimeSpan.FromSeconds(1)));

        // M wraps modulo 2^32 (every ~4.77 hours): 2^32 ticks later the ISN is the same again.
        Assert.Equal(at, isn.Next(Local, 1234, Remote, 443, new Instant(t.Microseconds + (4L << 32))));
    }

    [Fact]
    public void Short_secrets_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new IsnGenerator(new byte[8]));
    }

    [Fact]
    public void Next_does_not_allocate()
    {
        var isn = new IsnGenerator(Secret(4));
        uint Run()
        {
            uint sum = 0;
            for (int i = 0; i < 1000; i++)
            {
                sum += isn.Next(Local, (ushort)i, Remote, 80, T + TimeSpan.FromMicroseconds(i)).Value;
            }

            return sum;
        }

        Run(); // warm up: the JIT's tiering (on-stack replacement of the loop) may allocate on this thread once
        long before = GC.GetAllocatedBytesForCurrentThread();
        uint sum = Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"allocated {allocated} B (checksum {sum})");
    }
}
