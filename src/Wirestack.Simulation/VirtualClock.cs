using Wirestack.Time;

namespace Wirestack.Simulation;

/// <summary>The simulator's clock: a <see cref="TimeProvider"/> whose time moves only when told to.</summary>
/// <remarks>
/// <para>Time starts at the given <see cref="Instant"/> and has microsecond resolution
/// (<see cref="TimestampFrequency"/> is 1,000,000). <see cref="GetUtcNow"/> is 2000-01-01T00:00:00Z plus the
/// time elapsed since the start, so simulated runs print the same wall-clock times every run.</para>
/// <para>Timers made by <see cref="CreateTimer"/> (and therefore <c>Task.Delay(d, clock)</c> and
/// <c>new CancellationTokenSource(d, clock)</c>) fire only inside <see cref="Advance"/>/<see cref="AdvanceTo"/>,
/// in (due time, creation sequence) order, synchronously, with <see cref="Now"/> set to their due time.
/// A timer due at or before <see cref="Now"/> (for example one created with a zero due time) fires on the next
/// advance, including <c>Advance(TimeSpan.Zero)</c>. Due times and periods are rounded up to whole microseconds,
/// so a timer never fires early.</para>
/// <para>Internal state is guarded by a lock that is never held while a callback runs; callbacks may create,
/// change and dispose timers, and may advance the clock further. The hot reads take no lock: <see cref="Now"/> and
/// <see cref="NextTimerAt"/> read fields the lock's holders publish, and <see cref="AdvanceTo"/> with no timer due
/// by the target only moves the time (the simulator asks these on every step). Time moves on one thread at a time
/// (the simulation's loop); a timer armed on another thread while the clock moves past its due time fires on the
/// next advance, as any timer due at or before <see cref="Now"/> does.</para>
/// </remarks>
public sealed class VirtualClock : TimeProvider
{
    /// <summary>What <see cref="GetUtcNow"/> reports at the clock's start.</summary>
    public static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Lock _lock = new();
    private readonly SortedSet<VirtualTimer> _scheduled = new(DueOrder.Instance);
    private readonly Instant _start;
    private long _nowUs; // Now, in microseconds: written under the lock, read without it
    private long _nextDueUs = long.MaxValue; // due time of _scheduled.Min (long.MaxValue: none), kept under the lock
    private volatile bool _anyScheduled; // _scheduled.Count > 0 (a timer may be due at Instant.MaxValue itself)
    private long _nextSequence;

    public VirtualClock()
        : this(Instant.Zero)
    {
    }

    public VirtualClock(Instant start)
    {
        _start = start;
        _nowUs = start.Microseconds;
    }

    /// <summary>The current simulated time.</summary>
    public Instant Now => new(Volatile.Read(ref _nowUs));

    /// <summary>The due time of the earliest scheduled timer, or <see langword="null"/> when none is scheduled.</summary>
    public Instant? NextTimerAt
    {
        get
        {
            if (!_anyScheduled)
            {
                return null;
            }

            long due = Volatile.Read(ref _nextDueUs);
            return _anyScheduled ? new Instant(due) : null;
        }
    }

    public override long TimestampFrequency => 1_000_000;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override long GetTimestamp() => Now.Microseconds;

    public override DateTimeOffset GetUtcNow() => Epoch + (Now - _start);

    /// <summary>Moves time forward by <paramref name="delta"/> (rounded up to a microsecond), firing due timers.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        AdvanceTo(Saturate(Now, delta));
    }

    /// <summary>Moves time forward to <paramref name="target"/>, firing every timer due by then.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="target"/> is before <see cref="Now"/>.</exception>
    public void AdvanceTo(Instant target)
    {
        if (target < Now)
        {
            throw new ArgumentOutOfRangeException(nameof(target), target, $"Time cannot go backwards (now {Now}).");
        }

        if (Volatile.Read(ref _nextDueUs) > target.Microseconds)
        {
            // No timer due by the target (the common case on a busy simulation): only the time moves. Only the
            // simulation's loop moves time, so nothing else writes _nowUs meanwhile.
            Volatile.Write(ref _nowUs, Math.Max(Volatile.Read(ref _nowUs), target.Microseconds));
            return;
        }

        while (true)
        {
            TimerCallback callback;
            object? state;
            lock (_lock)
            {
                if (_scheduled.Count == 0 || _scheduled.Min!.Due > target)
                {
                    // A callback may already have advanced past the target; never step back.
                    SetNow(Math.Max(_nowUs, target.Microseconds));
                    return;
                }

                VirtualTimer timer = _scheduled.Min;
                _scheduled.Remove(timer);
                SetNow(Math.Max(_nowUs, timer.Due.Microseconds));
                if (timer.PeriodMicroseconds > 0)
                {
                    timer.Due = Saturate(timer.Due, timer.PeriodMicroseconds);
                    _scheduled.Add(timer);
                }
                else
                {
                    timer.Scheduled = false;
                }

                PublishNextDue();
                callback = timer.Callback;
                state = timer.State;
            }

            callback(state);
        }
    }

    private void SetNow(long microseconds) => Volatile.Write(ref _nowUs, microseconds);

    /// <summary>Publishes the earliest due time for the lock-free readers; called under the lock after every
    /// change to the schedule.</summary>
    private void PublishNextDue()
    {
        Volatile.Write(ref _nextDueUs, _scheduled.Count == 0 ? long.MaxValue : _scheduled.Min!.Due.Microseconds);
        _anyScheduled = _scheduled.Count > 0;
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ValidateTimeout(dueTime, nameof(dueTime));
        ValidateTimeout(period, nameof(period));
        VirtualTimer timer;
        lock (_lock)
        {
            timer = new VirtualTimer(this, callback, state, _nextSequence++);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    private static void ValidateTimeout(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be non-negative or Timeout.InfiniteTimeSpan.");
        }
    }

    /// <summary>Whole microseconds in <paramref name="span"/>, rounded up.</summary>
    private static long CeilingMicroseconds(TimeSpan span) =>
        (span.Ticks / TimeSpan.TicksPerMicrosecond) + (span.Ticks % TimeSpan.TicksPerMicrosecond == 0 ? 0 : 1);

    private static Instant Saturate(Instant from, TimeSpan delta) => Saturate(from, CeilingMicroseconds(delta));

    private static Instant Saturate(Instant from, long microseconds) =>
        microseconds > long.MaxValue - from.Microseconds ? Instant.MaxValue : new Instant(from.Microseconds + microseconds);

    private bool Change(VirtualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        ValidateTimeout(dueTime, nameof(dueTime));
        ValidateTimeout(period, nameof(period));
        lock (_lock)
        {
            if (timer.Disposed)
            {
                return false;
            }

            Unschedule(timer);
            timer.PeriodMicroseconds = period == Timeout.InfiniteTimeSpan ? 0 : CeilingMicroseconds(period);
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                timer.Due = Saturate(new Instant(_nowUs), dueTime);
                timer.Scheduled = true;
                _scheduled.Add(timer);
            }

            PublishNextDue();
            return true;
        }
    }

    private void Dispose(VirtualTimer timer)
    {
        lock (_lock)
        {
            timer.Disposed = true;
            Unschedule(timer);
            PublishNextDue();
        }
    }

    private void Unschedule(VirtualTimer timer)
    {
        if (timer.Scheduled)
        {
            _scheduled.Remove(timer);
            timer.Scheduled = false;
        }
    }

    /// <summary>A timer of this clock. Its due time and schedule are guarded by the clock's lock.</summary>
    private sealed class VirtualTimer(VirtualClock clock, TimerCallback callback, object? state, long sequence) : ITimer
    {
        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        public long Sequence { get; } = sequence;

        public Instant Due { get; set; }

        /// <summary>Zero for a one-shot timer.</summary>
        public long PeriodMicroseconds { get; set; }

        public bool Scheduled { get; set; }

        public bool Disposed { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period) => clock.Change(this, dueTime, period);

        public void Dispose() => clock.Dispose(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class DueOrder : IComparer<VirtualTimer>
    {
        public static readonly DueOrder Instance = new();

        public int Compare(VirtualTimer? x, VirtualTimer? y)
        {
            int byDue = x!.Due.CompareTo(y!.Due);
            return byDue != 0 ? byDue : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
