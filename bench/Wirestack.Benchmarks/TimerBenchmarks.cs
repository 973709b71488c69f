using BenchmarkDotNet.Attributes;
using Wirestack.Time;

namespace Wirestack.Benchmarks;

/// <summary>The timer wheel on TCP's path: a retransmission timer armed for 200 ms and cancelled when the ACK
/// comes (the common case), re-armed further out (every ACK that leaves data in flight), and one expiry. The wheel
/// holds 10,000 other armed timers, as a busy stack would.</summary>
[MemoryDiagnoser]
public class TimerBenchmarks
{
    private TimerWheel _wheel = null!;
    private TimerEntry _entry = null!;
    private Instant _now;

    [GlobalSetup]
    public void Setup()
    {
        _now = new Instant(1_000_000);
        _wheel = new TimerWheel(_now);
        var callback = new Callback();
        var random = new Random(42);
        for (int i = 0; i < 10_000; i++)
        {
            _wheel.Arm(new TimerEntry(callback), _now + TimeSpan.FromMilliseconds(random.Next(1, 7_200_000)));
        }

        _entry = new TimerEntry(callback);
    }

    [Benchmark]
    public bool ArmThenCancel()
    {
        _wheel.Arm(_entry, _now + TimeSpan.FromMilliseconds(200));
        _wheel.Cancel(_entry);
        return _entry.IsArmed;
    }

    [Benchmark]
    public bool Rearm()
    {
        _now += TimeSpan.FromMicroseconds(10);
        _wheel.Arm(_entry, _now + TimeSpan.FromMilliseconds(200));
        return _entry.IsArmed;
    }

    /// <summary>Arms a timer 1 µs ahead and advances the wheel to fire it.</summary>
    [Benchmark]
    public int ArmAndFire()
    {
        _wheel.Arm(_entry, _now + TimeSpan.FromMicroseconds(1));
        _now += TimeSpan.FromMicroseconds(1);
        return _wheel.Advance(_now);
    }

    private sealed class Callback : ITimerCallback
    {
        public void OnTimer(TimerEntry entry, Instant now)
        {
        }
    }
}
