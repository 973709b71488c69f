using Wirestack.Simulation;
using Wirestack.Time;

namespace Wirestack.Tests.Time;

public sealed class VirtualClockTests
{
    private static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<(string Name, Instant At)> _fired = [];

    [Fact]
    public void NewClock_StartsAtZeroOnTheFixedEpoch()
    {
        var clock = new VirtualClock();

        Assert.Equal(Instant.Zero, clock.Now);
        Assert.Equal(1_000_000, clock.TimestampFrequency);
        Assert.Equal(0, clock.GetTimestamp());
        Assert.Equal(Epoch, clock.GetUtcNow());
        Assert.Equal(TimeZoneInfo.Utc, clock.LocalTimeZone);
        Assert.Equal(TimeSpan.Zero, clock.GetLocalNow().Offset);
        Assert.Null(clock.NextTimerAt);
    }

    [Fact]
    public void Advance_MovesNowTimestampAndUtcNowTogether()
    {
        var clock = new VirtualClock(new Instant(7_000_000));
        long before = clock.GetTimestamp();

        clock.Advance(TimeSpan.FromMilliseconds(1500));

        Assert.Equal(new Instant(8_500_000), clock.Now);
        Assert.Equal(8_500_000, clock.GetTimestamp());
        Assert.Equal(Epoch.AddMilliseconds(1500), clock.GetUtcNow());
        Assert.Equal(TimeSpan.FromMilliseconds(1500), clock.GetElapsedTime(before));
    }

    [Fact]
    public void Advance_BackwardsOrNegative_Throws()
    {
        var clock = new VirtualClock();
        clock.AdvanceTo(new Instant(100));

        Assert.Throws<ArgumentOutOfRangeException>(() => clock.AdvanceTo(new Instant(99)));
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.Advance(TimeSpan.FromTicks(-1)));
        Assert.Equal(new Instant(100), clock.Now);
    }

    [Fact]
    public void Timer_FiresOnlyOnceClockReachesDueTime_WithNowSetToDueTime()
    {
        var clock = new VirtualClock();
        using ITimer timer = clock.CreateTimer(Record(clock), "a", TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan);
        Assert.Equal(new Instant(10_000), clock.NextTimerAt);

        clock.AdvanceTo(new Instant(9_999));
        Assert.Empty(_fired);

        clock.AdvanceTo(Instant.FromSeconds(1));
        Assert.Equal([("a", new Instant(10_000))], _fired);
        Assert.Equal(Instant.FromSeconds(1), clock.Now);
        Assert.Null(clock.NextTimerAt);
    }

    [Fact]
    public void Timers_FireInDueTimeThenCreationOrder()
    {
        var clock = new VirtualClock();
        TimerCallback record = Record(clock);
        ITimer a = clock.CreateTimer(record, "a", TimeSpan.FromMilliseconds(20), Timeout.InfiniteTimeSpan);
        ITimer b = clock.CreateTimer(record, "b", TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan);
        ITimer c = clock.CreateTimer(record, "c", TimeSpan.FromMilliseconds(20), Timeout.InfiniteTimeSpan);
        ITimer d = clock.CreateTimer(record, "d", TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan);

        // Changing a timer keeps its creation sequence: "a" still precedes "c" at the same due time.
        a.Change(TimeSpan.FromMilliseconds(20), Timeout.InfiniteTimeSpan);
        clock.Advance(TimeSpan.FromMilliseconds(50));

        Assert.Equal(["b", "d", "a", "c"], _fired.Select(f => f.Name));
        Assert.Equal([10_000L, 10_000, 20_000, 20_000], _fired.Select(f => f.At.Microseconds));
        foreach (ITimer timer in new[] { a, b, c, d })
        {
            timer.Dispose();
        }
    }

    [Fact]
    public void PeriodicTimer_FiresEveryPeriodWithinOneAdvance_UntilDisposed()
    {
        var clock = new VirtualClock();
        ITimer timer = clock.CreateTimer(Record(clock), "p", TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(5));

        clock.AdvanceTo(Instant.FromMilliseconds(30));

        Assert.Equal([10_000L, 15_000, 20_000, 25_000, 30_000], _fired.Select(f => f.At.Microseconds));
        Assert.Equal(Instant.FromMilliseconds(35), clock.NextTimerAt);

        timer.Dispose();
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(5, _fired.Count);
        Assert.Null(clock.NextTimerAt);
    }

    [Fact]
    public void Change_ReschedulesDisablesAndFailsAfterDispose()
    {
        var clock = new VirtualClock();
        ITimer timer = clock.CreateTimer(Record(clock), "t", TimeSpan.FromMilliseconds(10), Timeout.InfiniteTimeSpan);

        Assert.True(timer.Change(TimeSpan.FromMilliseconds(25), Timeout.InfiniteTimeSpan));
        clock.AdvanceTo(Instant.FromMilliseconds(20));
        Assert.Empty(_fired);

        Assert.True(timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        Assert.Null(clock.NextTimerAt);
        clock.AdvanceTo(Instant.FromSeconds(10));
        Assert.Empty(_fired);

        Assert.True(timer.Change(TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([("t", new Instant(10_001_000))], _fired);

        timer.Dispose();
        Assert.False(timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        timer.Dispose();
    }

    [Fact]
    public async Task DisposeAsync_StopsTheTimer()
    {
        var clock = new VirtualClock();
        ITimer timer = clock.CreateTimer(Record(clock), "t", TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10));

        await timer.DisposeAsync();
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Empty(_fired);
        Assert.Null(clock.NextTimerAt);
    }

    [Fact]
    public void Callback_CreatingTimerDueWithinAdvance_FiresInSameAdvance()
    {
        var clock = new VirtualClock();
        TimerCallback record = Record(clock);
        var created = new List<ITimer>();
        using ITimer first = clock.CreateTimer(
            _ =>
            {
                record("first");
                created.Add(clock.CreateTimer(record, "later", TimeSpan.FromMilliseconds(5), Timeout.InfiniteTimeSpan));
                created.Add(clock.CreateTimer(record, "immediate", TimeSpan.Zero, Timeout.InfiniteTimeSpan));
                created.Add(clock.CreateTimer(record, "outside", TimeSpan.FromMilliseconds(50), Timeout.InfiniteTimeSpan));
            },
            null,
            TimeSpan.FromMilliseconds(10),
            Timeout.InfiniteTimeSpan);

        clock.AdvanceTo(Instant.FromMilliseconds(20));

        Assert.Equal(
            [("first", new Instant(10_000)), ("immediate", new Instant(10_000)), ("later", new Instant(15_000))],
            _fired);
        Assert.Equal(Instant.FromMilliseconds(60), clock.NextTimerAt);
        created.ForEach(t => t.Dispose());
    }

    [Fact]
    public void Callback_ChangingItsOwnTimer_RefiresWithinAdvance()
    {
        var clock = new VirtualClock();
        TimerCallback record = Record(clock);
        ITimer? timer = null;
        timer = clock.CreateTimer(
            state =>
            {
                record(state);
                timer!.Change(TimeSpan.FromMilliseconds(5), Timeout.InfiniteTimeSpan);
            },
            "self",
            TimeSpan.FromMilliseconds(10),
            Timeout.InfiniteTimeSpan);

        clock.AdvanceTo(Instant.FromMilliseconds(22));

        Assert.Equal([10_000L, 15_000, 20_000], _fired.Select(f => f.At.Microseconds));
        Assert.Equal(Instant.FromMilliseconds(25), clock.NextTimerAt);
        timer.Dispose();
    }

    [Fact]
    public void Callback_AdvancingTheClock_FiresInnerTimersAndNeverStepsBack()
    {
        var clock = new VirtualClock();
        TimerCallback record = Record(clock);
        using ITimer inner = clock.CreateTimer(record, "inner", TimeSpan.FromMilliseconds(12), Timeout.InfiniteTimeSpan);
        using ITimer outer = clock.CreateTimer(
            _ =>
            {
                record("outer");
                clock.Advance(TimeSpan.FromMilliseconds(5));
            },
            null,
            TimeSpan.FromMilliseconds(10),
            Timeout.InfiniteTimeSpan);

        clock.AdvanceTo(Instant.FromMilliseconds(11));

        Assert.Equal([("outer", new Instant(10_000)), ("inner", new Instant(12_000))], _fired);
        Assert.Equal(Instant.FromMilliseconds(15), clock.Now);
    }

    [Fact]
    public void Timer_WithZeroDueTime_FiresOnNextAdvanceNotAtCreation()
    {
        var clock = new VirtualClock();
        using ITimer timer = clock.CreateTimer(Record(clock), "zero", TimeSpan.Zero, Timeout.InfiniteTimeSpan);

        Assert.Empty(_fired);
        Assert.Equal(Instant.Zero, clock.NextTimerAt);

        clock.Advance(TimeSpan.Zero);
        Assert.Equal([("zero", Instant.Zero)], _fired);
    }

    [Fact]
    public void Timer_WithSubMicrosecondDueTime_RoundsUpSoItNeverFiresEarly()
    {
        var clock = new VirtualClock();
        using ITimer timer = clock.CreateTimer(Record(clock), "t", TimeSpan.FromTicks(15), TimeSpan.FromTicks(1));

        Assert.Equal(new Instant(2), clock.NextTimerAt);
        clock.AdvanceTo(new Instant(4));

        Assert.Equal([2L, 3, 4], _fired.Select(f => f.At.Microseconds));
    }

    [Fact]
    public void CreateTimer_InvalidArguments_Throw()
    {
        var clock = new VirtualClock();

        Assert.Throws<ArgumentNullException>(() => clock.CreateTimer(null!, null, TimeSpan.Zero, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            clock.CreateTimer(_ => { }, null, TimeSpan.FromMilliseconds(-2), Timeout.InfiniteTimeSpan));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            clock.CreateTimer(_ => { }, null, TimeSpan.Zero, TimeSpan.FromMilliseconds(-2)));
    }

    [Fact]
    public async Task TaskDelay_CompletesOnlyWhenClockPassesItsDueTime()
    {
        var clock = new VirtualClock();
        Task delay = Task.Delay(TimeSpan.FromSeconds(5), clock);
        Assert.False(delay.IsCompleted);
        Assert.Equal(Instant.FromSeconds(5), clock.NextTimerAt);

        clock.AdvanceTo(new Instant(4_999_999));
        Assert.False(delay.IsCompleted);

        clock.AdvanceTo(Instant.FromSeconds(5));
        Assert.True(delay.IsCompletedSuccessfully);
        await delay;
    }

    [Fact]
    public async Task TaskDelay_CancelledBeforeDueTime_IsCanceledAndLeavesNoTimer()
    {
        var clock = new VirtualClock();
        using var cancellation = new CancellationTokenSource();
        Task delay = Task.Delay(TimeSpan.FromSeconds(5), clock, cancellation.Token);

        await cancellation.CancelAsync();

        Assert.True(delay.IsCanceled);
        Assert.Null(clock.NextTimerAt);
    }

    [Fact]
    public void CancellationTokenSource_WithDelay_CancelsOnlyWhenClockPassesIt()
    {
        var clock = new VirtualClock();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromSeconds(2), clock);
        Instant? cancelledAt = null;
        using CancellationTokenRegistration registration = cancellation.Token.Register(() => cancelledAt = clock.Now);

        clock.AdvanceTo(new Instant(1_999_999));
        Assert.False(cancellation.IsCancellationRequested);

        clock.AdvanceTo(Instant.FromSeconds(3));
        Assert.True(cancellation.IsCancellationRequested);
        Assert.Equal(Instant.FromSeconds(2), cancelledAt);
    }

    [Fact]
    public void CancellationTokenSource_CancelAfter_UsesTheVirtualClock()
    {
        var clock = new VirtualClock();
        using var cancellation = new CancellationTokenSource(Timeout.InfiniteTimeSpan, clock);
        clock.Advance(TimeSpan.FromSeconds(10));

        cancellation.CancelAfter(TimeSpan.FromMilliseconds(300));
        clock.Advance(TimeSpan.FromMilliseconds(299));
        Assert.False(cancellation.IsCancellationRequested);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(cancellation.IsCancellationRequested);
    }

    private TimerCallback Record(VirtualClock clock) => state => _fired.Add(((string)state!, clock.Now));
}
