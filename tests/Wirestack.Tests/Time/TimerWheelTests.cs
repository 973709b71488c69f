using Wirestack.Time;

namespace Wirestack.Tests.Time;

public sealed class TimerWheelTests
{
    private const long Second = 1_000_000;

    private readonly List<Firing> _log = [];

    [Fact]
    public void Advance_ToExactDeadline_FiresAtThatMicrosecond()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry syn = NewEntry(1);
        wheel.Arm(syn, Instant.FromSeconds(1.0));

        Assert.Equal(0, wheel.Advance(new Instant(999_999)));
        Assert.True(syn.IsArmed);
        Assert.Empty(_log);

        Assert.Equal(1, wheel.Advance(new Instant(1_000_000)));
        Assert.False(syn.IsArmed);
        Assert.Equal([new Firing(1, new Instant(Second), new Instant(Second))], _log);
        Assert.Equal(0, wheel.Count);
        Assert.Null(wheel.NextDeadline);
    }

    [Fact]
    public void Advance_InRandomSteps_NeverFiresEarlyOrLate()
    {
        var random = new Random(1234);
        var wheel = new TimerWheel(Instant.Zero);
        for (int id = 0; id < 5000; id++)
        {
            wheel.Arm(NewEntry(id), new Instant(random.NextInt64(1, 20 * Second)));
        }

        Instant previous = Instant.Zero;
        while (wheel.Count > 0)
        {
            var now = new Instant(previous.Microseconds + random.NextInt64(1, 50_000));
            int before = _log.Count;
            int fired = wheel.Advance(now);
            Assert.Equal(_log.Count - before, fired);
            foreach (Firing firing in _log.Skip(before))
            {
                Assert.True(firing.Deadline > previous && firing.Deadline <= now, $"{firing} outside ({previous}, {now}]");
                Assert.Equal(now, firing.Now);
            }

            previous = now;
        }

        Assert.Equal(5000, _log.Count);
    }

    [Fact]
    public void Advance_ToEachNextDeadline_FiresEveryEntryExactlyAtItsDeadline()
    {
        var random = new Random(99);
        var wheel = new TimerWheel(new Instant(123_456_789));
        var deadlines = new Dictionary<int, Instant>();
        for (int id = 0; id < 3000; id++)
        {
            var deadline = new Instant(123_456_789 + random.NextInt64(0, 1L << random.Next(1, 40)));
            deadlines[id] = deadline;
            wheel.Arm(NewEntry(id), deadline);
        }

        while (wheel.NextDeadline is Instant next)
        {
            wheel.Advance(next);
        }

        Assert.Equal(3000, _log.Count);
        Assert.All(_log, firing => Assert.Equal(deadlines[firing.Id], firing.Now));
        Assert.All(_log, firing => Assert.Equal(deadlines[firing.Id], firing.Deadline));
    }

    [Fact]
    public void Advance_FiresInDeadlineThenArmOrder()
    {
        var wheel = new TimerWheel(Instant.Zero);
        wheel.Arm(NewEntry(0), new Instant(50));
        wheel.Arm(NewEntry(1), new Instant(30));
        wheel.Arm(NewEntry(2), new Instant(50));
        wheel.Arm(NewEntry(3), new Instant(30));
        wheel.Arm(NewEntry(4), new Instant(10_000_000));
        wheel.Arm(NewEntry(5), new Instant(10));
        wheel.Arm(NewEntry(6), new Instant(10_000_000));

        Assert.Equal(7, wheel.Advance(new Instant(20_000_000)));

        Assert.Equal([5, 1, 3, 0, 2, 4, 6], FiredIds());
    }

    [Fact]
    public void Advance_SameDeadlineArmedAtDifferentTimes_FiresInArmOrder()
    {
        // Each entry reaches the deadline's slot by a different route (armed at a different level).
        var deadline = new Instant((3L << 36) + 5);
        var wheel = new TimerWheel(Instant.Zero);
        wheel.Arm(NewEntry(0), deadline);
        wheel.Advance(new Instant(deadline.Microseconds - (1L << 20)));
        wheel.Arm(NewEntry(1), deadline);
        wheel.Advance(new Instant(deadline.Microseconds - 100));
        wheel.Arm(NewEntry(2), deadline);
        wheel.Advance(new Instant(deadline.Microseconds - 1));
        wheel.Arm(NewEntry(3), deadline);

        Assert.Equal(4, wheel.Advance(deadline));

        Assert.Equal([0, 1, 2, 3], FiredIds());
    }

    [Fact]
    public void Cancel_ArmedEntry_NeverFires()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry kept = NewEntry(0);
        TimerEntry cancelled = NewEntry(1);
        wheel.Arm(kept, new Instant(100));
        wheel.Arm(cancelled, new Instant(100));

        wheel.Cancel(cancelled);

        Assert.False(cancelled.IsArmed);
        Assert.Equal(1, wheel.Count);
        Assert.Equal(1, wheel.Advance(new Instant(1000)));
        Assert.Equal([0], FiredIds());
    }

    [Fact]
    public void Cancel_EntryNotArmed_IsNoOp()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry entry = NewEntry(0);

        wheel.Cancel(entry);
        wheel.Arm(entry, new Instant(5));
        wheel.Cancel(entry);
        wheel.Cancel(entry);

        Assert.Equal(0, wheel.Count);
        Assert.Null(wheel.NextDeadline);
        Assert.Equal(0, wheel.Advance(new Instant(10)));
    }

    [Fact]
    public void Cancel_LastEntryOfCoarseSlot_ClearsNextDeadline()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry entry = NewEntry(0);
        wheel.Arm(entry, new Instant(7200 * Second));
        Assert.NotNull(wheel.NextDeadline);

        wheel.Cancel(entry);

        Assert.Null(wheel.NextDeadline);
    }

    [Fact]
    public void Arm_AlreadyArmed_MovesEarlierOrLater()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry entry = NewEntry(0);
        wheel.Arm(entry, new Instant(100));
        wheel.Arm(entry, new Instant(50));
        Assert.Equal(1, wheel.Count);
        Assert.Equal(new Instant(50), wheel.NextDeadline);

        wheel.Arm(entry, new Instant(5_000));
        Assert.Equal(1, wheel.Count);
        Assert.Equal(new Instant(5_000), entry.Deadline);
        Assert.Equal(0, wheel.Advance(new Instant(4_999)));

        Assert.Equal(1, wheel.Advance(new Instant(10_000)));
        Assert.Equal([new Firing(0, new Instant(5_000), new Instant(10_000))], _log);
    }

    [Fact]
    public void Arm_AlreadyArmedAtSameDeadline_MovesBehindLaterArms()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry first = NewEntry(0);
        wheel.Arm(first, new Instant(10));
        wheel.Arm(NewEntry(1), new Instant(10));
        wheel.Arm(first, new Instant(10));

        wheel.Advance(new Instant(10));

        Assert.Equal([1, 0], FiredIds());
    }

    [Fact]
    public void Arm_EntryOfAnotherWheel_Throws()
    {
        var one = new TimerWheel(Instant.Zero);
        var other = new TimerWheel(Instant.Zero);
        TimerEntry entry = NewEntry(0);
        one.Arm(entry, new Instant(10));

        Assert.Throws<InvalidOperationException>(() => other.Arm(entry, new Instant(20)));
        Assert.Throws<InvalidOperationException>(() => other.Cancel(entry));
        Assert.Equal(1, one.Count);
    }

    [Fact]
    public void Callback_RearmsItselfFromDeadline_FiresEveryPeriodWithinOneAdvance()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry entry = NewEntry(0, (e, _) => wheel.Arm(e, e.Deadline + TimeSpan.FromMicroseconds(100)));
        wheel.Arm(entry, new Instant(100));

        Assert.Equal(10, wheel.Advance(new Instant(1_000)));

        Assert.Equal(Enumerable.Range(1, 10).Select(i => new Instant(i * 100)), _log.Select(f => f.Deadline));
        Assert.True(entry.IsArmed);
        Assert.Equal(new Instant(1_100), entry.Deadline);
    }

    [Fact]
    public void Callback_RearmsItselfFromNow_FiresOncePerAdvance()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry entry = NewEntry(0, (e, now) => wheel.Arm(e, now + TimeSpan.FromMicroseconds(100)));
        wheel.Arm(entry, new Instant(100));

        Assert.Equal(1, wheel.Advance(new Instant(1_000)));
        Assert.Equal(new Instant(1_100), entry.Deadline);
        Assert.Equal(0, wheel.Advance(new Instant(1_099)));
        Assert.Equal(1, wheel.Advance(new Instant(1_100)));
        Assert.Equal(2, _log.Count);
    }

    [Fact]
    public void Callback_ArmsEntriesAtOrBeforeNow_TheyFireInSameAdvance()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry past = NewEntry(1);
        TimerEntry atNow = NewEntry(2);
        TimerEntry first = NewEntry(0, (_, now) =>
        {
            wheel.Arm(atNow, now);
            wheel.Arm(past, new Instant(50));
        });
        wheel.Arm(first, new Instant(100));
        wheel.Arm(NewEntry(3), new Instant(300));

        Assert.Equal(4, wheel.Advance(new Instant(500)));

        // The past deadline is taken as the wheel's time when armed (100, the firing entry's deadline).
        Assert.Equal(
            [
                new Firing(0, new Instant(100), new Instant(500)),
                new Firing(1, new Instant(100), new Instant(500)),
                new Firing(3, new Instant(300), new Instant(500)),
                new Firing(2, new Instant(500), new Instant(500)),
            ],
            _log);
        Assert.Equal(0, wheel.Count);
    }

    [Fact]
    public void Callback_CancelsEntriesDueInSameAdvance_TheyDoNotFire()
    {
        var wheel = new TimerWheel(Instant.Zero);
        TimerEntry sameTick = NewEntry(1);
        TimerEntry later = NewEntry(2);
        wheel.Arm(NewEntry(0, (_, _) =>
        {
            wheel.Cancel(sameTick);
            wheel.Cancel(later);
        }), new Instant(100));
        wheel.Arm(sameTick, new Instant(100));
        wheel.Arm(later, new Instant(200));

        Assert.Equal(1, wheel.Advance(new Instant(1_000)));

        Assert.Equal([0], FiredIds());
        Assert.Equal(0, wheel.Count);
    }

    [Fact]
    public void Callback_CallingAdvance_Throws()
    {
        var wheel = new TimerWheel(Instant.Zero);
        wheel.Arm(NewEntry(0, (_, now) => wheel.Advance(now)), new Instant(1));

        Assert.Throws<InvalidOperationException>(() => wheel.Advance(new Instant(1)));
    }

    [Fact]
    public void Arm_InThePast_FiresOnNextAdvanceAtCurrentTime()
    {
        var wheel = new TimerWheel(Instant.Zero);
        wheel.Advance(new Instant(1_000));
        TimerEntry entry = NewEntry(0);

        wheel.Arm(entry, new Instant(500));

        Assert.Equal(new Instant(1_000), entry.Deadline);
        Assert.Equal(new Instant(1_000), wheel.NextDeadline);
        Assert.Equal(1, wheel.Advance(new Instant(1_000)));
        Assert.Equal([new Firing(0, new Instant(1_000), new Instant(1_000))], _log);
    }

    [Fact]
    public void Advance_BackwardsInTime_IsTreatedAsCurrentTime()
    {
        var wheel = new TimerWheel(Instant.Zero);
        wheel.Advance(new Instant(1_000));
        wheel.Arm(NewEntry(0), new Instant(1_000));

        Assert.Equal(1, wheel.Advance(new Instant(10)));

        Assert.Equal(new Instant(1_000), wheel.Now);
        Assert.Equal([new Firing(0, new Instant(1_000), new Instant(1_000))], _log);
    }

    public static TheoryData<int, bool> LevelBoundaries()
    {
        var data = new TheoryData<int, bool>();
        for (int level = 1; level <= 10; level++)
        {
            data.Add(level, false);
            data.Add(level, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(LevelBoundaries))]
    public void Advance_AcrossLevelBoundary_FiresExactlyAtDeadline(int level, bool startJustBeforeBoundary)
    {
        long boundary = 1L << (6 * level);
        var wheel = new TimerWheel(Instant.Zero);
        if (startJustBeforeBoundary)
        {
            wheel.Advance(new Instant(boundary - 2));
        }

        long[] deadlines = [boundary - 1, boundary, boundary + 1, boundary + 63, boundary + 64, (3 * boundary) - 1];
        for (int id = 0; id < deadlines.Length; id++)
        {
            wheel.Arm(NewEntry(id), new Instant(deadlines[id]));
        }

        int steps = 0;
        while (wheel.NextDeadline is Instant next)
        {
            Assert.True(steps++ < 100, "NextDeadline does not converge");
            long earliest = deadlines.Skip(_log.Count).First();
            Assert.True(next.Microseconds <= earliest, $"NextDeadline {next} later than earliest deadline {earliest}");
            wheel.Advance(next);
        }

        Assert.Equal(deadlines, _log.Select(f => f.Now.Microseconds));
        Assert.Equal(deadlines, _log.Select(f => f.Deadline.Microseconds));
    }

    [Theory]
    [MemberData(nameof(LevelBoundaries))]
    public void Advance_JumpOntoLevelBoundary_FiresUpToAndIncludingIt(int level, bool armNearBoundary)
    {
        long boundary = 1L << (6 * level);
        var wheel = new TimerWheel(Instant.Zero);
        if (armNearBoundary)
        {
            wheel.Advance(new Instant(boundary - 3));
        }

        wheel.Arm(NewEntry(0), new Instant(boundary - 1));
        wheel.Arm(NewEntry(1), new Instant(boundary));
        wheel.Arm(NewEntry(2), new Instant(boundary + 1));

        Assert.Equal(2, wheel.Advance(new Instant(boundary)));
        Assert.Equal([0, 1], FiredIds());
        Assert.Equal(new Instant(boundary + 1), wheel.NextDeadline);
        Assert.Equal(1, wheel.Advance(new Instant(boundary + 1)));
    }

    [Fact]
    public void Advance_FarDeadlines_FireInOrderAndNotBefore()
    {
        var start = new Instant(-5 * Second);
        var wheel = new TimerWheel(start);
        long hours2 = 2 * 3600 * Second;
        long days30 = 30L * 86_400 * Second;
        long years100 = 100L * 365 * 86_400 * Second;
        wheel.Arm(NewEntry(3), Instant.MaxValue);
        wheel.Arm(NewEntry(2), new Instant(years100));
        wheel.Arm(NewEntry(1), new Instant(days30));
        wheel.Arm(NewEntry(0), new Instant(hours2));

        Assert.Equal(1, wheel.Advance(new Instant(86_400 * Second)));
        Assert.Equal([0], FiredIds());
        Assert.Equal(0, wheel.Advance(new Instant(days30 - 1)));

        while (wheel.NextDeadline is Instant next && next.Microseconds <= years100)
        {
            wheel.Advance(next);
        }

        Assert.Equal([0, 1, 2], FiredIds());
        Assert.Equal(new Instant(days30), _log[1].Now);
        Assert.Equal(new Instant(years100), _log[2].Now);
        Assert.Equal(1, wheel.Count);
        Assert.Equal(0, wheel.Advance(new Instant(long.MaxValue - 1)));

        Assert.Equal(1, wheel.Advance(Instant.MaxValue));
        Assert.Equal(new Firing(3, Instant.MaxValue, Instant.MaxValue), _log[3]);
    }

    [Fact]
    public void Advance_HugeJumpOverManyTimers_SkipsEmptySlots()
    {
        var random = new Random(7200);
        var wheel = new TimerWheel(Instant.Zero);
        var deadlines = new long[100_000];
        for (int id = 0; id < deadlines.Length; id++)
        {
            deadlines[id] = random.NextInt64(1, 7200 * Second);
            wheel.Arm(NewEntry(id), new Instant(deadlines[id]));
        }

        Assert.Equal(100_000, wheel.Advance(new Instant(7200 * Second)));

        int[] expected = Enumerable.Range(0, deadlines.Length).OrderBy(id => deadlines[id]).ThenBy(id => id).ToArray();
        Assert.Equal(expected, FiredIds());
        Assert.True(wheel.SlotsVisited <= 11L * deadlines.Length, $"visited {wheel.SlotsVisited} slots");
    }

    [Fact]
    public void OneMillionTimers_HalfCancelled_TheRestFireInDeadlineOrder()
    {
        const int Total = 1_000_000;
        var random = new Random(42);
        var wheel = new TimerWheel(Instant.Zero);
        var counter = new CountingCallback(Total);
        var entries = new TimerEntry[Total];
        for (int id = 0; id < Total; id++)
        {
            entries[id] = new TimerEntry(counter);
            wheel.Arm(entries[id], new Instant(random.NextInt64(1, 3600 * Second)));
        }

        Assert.Equal(Total, wheel.Count);
        for (int id = 1; id < Total; id += 2)
        {
            wheel.Cancel(entries[id]);
        }

        Assert.Equal(Total / 2, wheel.Count);
        Assert.Equal(Total / 2, wheel.Advance(new Instant(3600 * Second)));
        Assert.Equal(Total / 2, counter.Fired);
        Assert.True(counter.InOrder);
        Assert.Equal(0, wheel.Count);
        Assert.Null(wheel.NextDeadline);
    }

    [Fact]
    public void OneMillionTimers_AllCancelled_NoneFire()
    {
        const int Total = 1_000_000;
        var random = new Random(43);
        var wheel = new TimerWheel(Instant.Zero);
        var counter = new CountingCallback(Total);
        var entries = new TimerEntry[Total];
        for (int id = 0; id < Total; id++)
        {
            entries[id] = new TimerEntry(counter);
            wheel.Arm(entries[id], new Instant(random.NextInt64(0, 1L << random.Next(1, 45))));
        }

        Assert.Equal(Total, wheel.Count);
        foreach (TimerEntry entry in entries)
        {
            wheel.Cancel(entry);
        }

        Assert.Equal(0, wheel.Count);
        Assert.Null(wheel.NextDeadline);
        Assert.Equal(0, wheel.Advance(Instant.MaxValue));
        Assert.Equal(0, counter.Fired);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomOperations_MatchSortedReferenceModel(int seed)
    {
        const int PoolSize = 48;
        var random = new Random(seed);
        var start = new Instant(random.NextInt64(-Second, Second));
        var subject = new WheelUnderTest(start, PoolSize);
        var model = new ReferenceModel(start, PoolSize);

        for (int step = 0; step < 10_000; step++)
        {
            int choice = random.Next(100);
            Instant now = model.Now;
            if (choice < 40)
            {
                int id = random.Next(PoolSize);
                Instant deadline = RandomDeadline(random, now);
                subject.Arm(id, deadline);
                model.Arm(id, deadline);
            }
            else if (choice < 52)
            {
                int id = random.Next(PoolSize);
                subject.Cancel(id);
                model.Cancel(id);
            }
            else if (choice < 70 && subject.Wheel.NextDeadline is Instant next)
            {
                Assert.Equal(model.Advance(next), subject.Wheel.Advance(next));
            }
            else
            {
                Instant target = RandomAdvance(random, now);
                Assert.Equal(model.Advance(target), subject.Wheel.Advance(target));
            }

            AssertSameState(subject, model, step);
        }

        // Drain what is left by following NextDeadline only.
        int drainSteps = 0;
        while (subject.Wheel.NextDeadline is Instant next)
        {
            Assert.True(drainSteps++ < 20 * (model.Count + 1) * 11, "NextDeadline does not converge");
            Assert.Equal(model.Advance(next), subject.Wheel.Advance(next));
            AssertSameState(subject, model, -1);
        }

        Assert.Equal(0, model.Count);
        Assert.True(model.Fired.Count > 2000, $"only {model.Fired.Count} firings exercised");
    }

    private static Instant RandomDeadline(Random random, Instant now)
    {
        long t = now.Microseconds;
        switch (random.Next(6))
        {
            case 0:
                return new Instant(t + random.Next(0, 200));
            case 1:
                return new Instant(t + random.NextInt64(0, 5 * Second));
            case 2:
                // Around the next boundary of a random level.
                int shift = 6 * random.Next(1, 8);
                long boundary = ((t >> shift) + random.Next(1, 3)) << shift;
                return new Instant(boundary + random.Next(-2, 3));
            case 3:
                return new Instant(t - random.Next(0, 10_000));
            case 4:
                return new Instant(t + random.NextInt64(0, 1L << random.Next(1, 50)));
            default:
                return new Instant(t + random.Next(0, 20_000));
        }
    }

    private static Instant RandomAdvance(Random random, Instant now)
    {
        long t = now.Microseconds;
        return random.Next(5) switch
        {
            0 => new Instant(t - random.Next(0, 100)),
            1 => new Instant(t + random.Next(0, 300)),
            2 => new Instant(t + random.NextInt64(0, 100_000)),
            3 => new Instant(t + random.NextInt64(0, 10 * Second)),
            _ => new Instant(t + random.NextInt64(0, 1L << random.Next(1, 44))),
        };
    }

    private static void AssertSameState(WheelUnderTest subject, ReferenceModel model, int step)
    {
        TimerWheel wheel = subject.Wheel;
        Assert.Equal(model.Count, wheel.Count);
        Assert.Equal(model.Now, wheel.Now);
        Assert.Equal(model.Fired.Count, subject.Fired.Count);
        for (int id = 0; id < subject.Entries.Length; id++)
        {
            Assert.Equal(model.IsArmed(id), subject.Entries[id].IsArmed);
            if (model.IsArmed(id))
            {
                Assert.Equal(model.DeadlineOf(id), subject.Entries[id].Deadline);
            }
        }

        Instant? earliest = model.Earliest;
        Instant? next = wheel.NextDeadline;
        if (earliest is null)
        {
            Assert.Null(next);
        }
        else
        {
            Assert.NotNull(next);
            Assert.True(next.Value <= earliest.Value, $"step {step}: NextDeadline {next} is later than {earliest}");
            Assert.True(next.Value >= wheel.Now, $"step {step}: NextDeadline {next} is before now {wheel.Now}");
        }

        for (int i = subject.Checked; i < subject.Fired.Count; i++)
        {
            Assert.Equal(model.Fired[i], subject.Fired[i]);
        }

        subject.Checked = subject.Fired.Count;
    }

    /// <summary>What a callback does, decided only by the firing's position, so both sides act the same.</summary>
    private static void React(ITimerOperations timers, int firingIndex, int id, Instant deadline, Instant now, int poolSize)
    {
        ulong hash = Mix((ulong)firingIndex);
        int other = (int)((hash >> 8) % (ulong)poolSize);
        long amount = (long)((hash >> 24) % 3_000);
        switch (hash % 8)
        {
            case 0:
                timers.Arm(id, deadline + TimeSpan.FromMicroseconds(amount + 1));
                break;
            case 1:
                timers.Arm(other, now - TimeSpan.FromMicroseconds(amount));
                break;
            case 2:
                timers.Arm(other, now + TimeSpan.FromMicroseconds(amount));
                break;
            case 3:
                timers.Cancel(other);
                break;
            case 4:
                timers.Arm(other, deadline);
                break;
            default:
                break;
        }
    }

    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private TimerEntry NewEntry(int id, Action<TimerEntry, Instant>? onFire = null) =>
        new(new Probe(id, _log, onFire));

    private int[] FiredIds() => _log.Select(f => f.Id).ToArray();

    private readonly record struct Firing(int Id, Instant Deadline, Instant Now);

    private interface ITimerOperations
    {
        void Arm(int id, Instant deadline);

        void Cancel(int id);
    }

    private sealed class Probe(int id, List<Firing> log, Action<TimerEntry, Instant>? onFire) : ITimerCallback
    {
        public void OnTimer(TimerEntry entry, Instant now)
        {
            Assert.False(entry.IsArmed);
            log.Add(new Firing(id, entry.Deadline, now));
            onFire?.Invoke(entry, now);
        }
    }

    private sealed class CountingCallback(int capacity) : ITimerCallback
    {
        private Instant _last = Instant.Zero;

        public int Fired { get; private set; }

        public bool InOrder { get; private set; } = capacity > 0;

        public void OnTimer(TimerEntry entry, Instant now)
        {
            InOrder &= entry.Deadline >= _last && entry.Deadline <= now;
            _last = entry.Deadline;
            Fired++;
        }
    }

    private sealed class WheelUnderTest : ITimerOperations
    {
        public WheelUnderTest(Instant start, int poolSize)
        {
            Wheel = new TimerWheel(start);
            Entries = new TimerEntry[poolSize];
            for (int id = 0; id < poolSize; id++)
            {
                int captured = id;
                Entries[id] = new TimerEntry(new Probe(id, Fired, (entry, now) =>
                    React(this, Fired.Count - 1, captured, entry.Deadline, now, poolSize)));
            }
        }

        public TimerWheel Wheel { get; }

        public TimerEntry[] Entries { get; }

        public List<Firing> Fired { get; } = [];

        /// <summary>How many of <see cref="Fired"/> were already compared with the model.</summary>
        public int Checked { get; set; }

        public void Arm(int id, Instant deadline) => Wheel.Arm(Entries[id], deadline);

        public void Cancel(int id) => Wheel.Cancel(Entries[id]);
    }

    /// <summary>The obvious implementation: a list of (deadline, sequence), searched for its minimum.</summary>
    private sealed class ReferenceModel(Instant start, int poolSize) : ITimerOperations
    {
        private readonly (Instant Deadline, long Sequence)?[] _armed = new (Instant, long)?[poolSize];
        private long _sequence;

        public Instant Now { get; private set; } = start;

        public int Count => _armed.Count(a => a is not null);

        public List<Firing> Fired { get; } = [];

        public Instant? Earliest => _armed.Where(a => a is not null).Select(a => (Instant?)a!.Value.Deadline).Min();

        public bool IsArmed(int id) => _armed[id] is not null;

        public Instant DeadlineOf(int id) => _armed[id]!.Value.Deadline;

        public void Arm(int id, Instant deadline) => _armed[id] = (Instant.Max(deadline, Now), _sequence++);

        public void Cancel(int id) => _armed[id] = null;

        public int Advance(Instant now)
        {
            now = Instant.Max(now, Now);
            int fired = 0;
            while (true)
            {
                int best = -1;
                for (int id = 0; id < _armed.Length; id++)
                {
                    if (_armed[id] is { } a && a.Deadline <= now &&
                        (best < 0 || (a.Deadline, a.Sequence).CompareTo((_armed[best]!.Value.Deadline, _armed[best]!.Value.Sequence)) < 0))
                    {
                        best = id;
                    }
                }

                if (best < 0)
                {
                    Now = now;
                    return fired;
                }

                Instant deadline = _armed[best]!.Value.Deadline;
                Now = deadline;
                _armed[best] = null;
                fired++;
                Fired.Add(new Firing(best, deadline, now));
                React(this, Fired.Count - 1, best, deadline, now, _armed.Length);
            }
        }
    }
}
