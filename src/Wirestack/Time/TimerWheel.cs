using System.Numerics;

namespace Wirestack.Time;

// A hierarchical timing wheel over microsecond ticks.
//
// Time is counted in ticks (microseconds) since the wheel's start, as an unsigned 64-bit number split into
// eleven 6-bit digits; level L holds 64 slots, one per value of digit L, so 11 levels cover every tick
// (no overflow list is needed). An armed entry sits at the level of the highest digit in which its deadline
// differs from the wheel's current tick, in the slot named by that digit of its deadline; a deadline equal to
// the current tick sits in the "due" list. Each slot is an intrusive circular doubly linked list (the links
// live in TimerEntry), so arm and cancel are O(1) and never allocate, and each level keeps a 64-bit bitmap of
// its non-empty slots.
//
// Every occupied slot of level L names a digit greater than the current tick's digit L, and every entry at
// level L expires before every entry at a level above it. So the next thing to do is found in O(levels): the
// lowest non-empty level's lowest set bit. For level 0 that is an exact deadline; for a higher level it is the
// slot's start, a "cascade point" no later than any deadline in it. Advance jumps straight from one such
// point to the next (empty slots cost nothing, however far time jumps), re-files the slot's entries at a lower
// level (or in the due list), and fires the due list in order.
//
// Order: all entries with the same deadline always share one list, appends go to the tail, and a cascade
// moves a whole list into lower slots that are empty at that moment, keeping relative order. Every list is
// therefore in arm order, so entries fire in (deadline, arm sequence) order without storing a sequence number.

/// <summary>Fires <see cref="TimerEntry"/> callbacks at their exact microsecond deadline as time is advanced.</summary>
/// <remarks>
/// Arm and cancel are O(1); finding the next deadline is O(levels); advancing costs O(1) per non-empty slot
/// visited, not per tick. A deadline earlier than the wheel's current time is treated as the current time
/// (the wheel cannot fire in the past) and <see cref="TimerEntry.Deadline"/> reports it so.
/// Not safe for concurrent use: the owning stack serialises all calls.
/// </remarks>
public sealed class TimerWheel
{
    private const int SlotBits = 6;
    private const int SlotsPerLevel = 1 << SlotBits;
    private const int SlotMask = SlotsPerLevel - 1;
    private const int LevelCount = (64 + SlotBits - 1) / SlotBits;
    private const int DueList = LevelCount * SlotsPerLevel;

    private readonly long _origin;
    private readonly TimerEntry?[] _heads = new TimerEntry?[DueList + 1];
    private readonly ulong[] _occupied = new ulong[LevelCount];
    private ulong _current;
    private int _count;
    private bool _advancing;

    public TimerWheel(Instant start) => _origin = start.Microseconds;

    /// <summary>The wheel's current time: the latest time passed to <see cref="Advance"/> (or the start).</summary>
    public Instant Now => ToInstant(_current);

    /// <summary>The number of armed entries.</summary>
    public int Count => _count;

    /// <summary>When to call <see cref="Advance"/> next, or <see langword="null"/> when nothing is armed.</summary>
    /// <remarks>Never later than the earliest armed deadline. It may be earlier (the start of a coarse slot
    /// that must be split); advancing to it and asking again converges on the exact deadline in at most one
    /// step per level.</remarks>
    public Instant? NextDeadline
    {
        get
        {
            if (_heads[DueList] is not null)
            {
                return Now;
            }

            return TryGetNextEvent(out _, out _, out ulong when) ? ToInstant(when) : null;
        }
    }

    /// <summary>Slots emptied by <see cref="Advance"/> so far; lets tests check that time jumps skip empty slots.</summary>
    internal long SlotsVisited { get; private set; }

    /// <summary>Arms <paramref name="entry"/> to fire at <paramref name="deadline"/>, moving it if already armed.</summary>
    /// <remarks>A deadline at or before <see cref="Now"/> fires on the next <see cref="Advance"/> (within the
    /// current one when called from a callback).</remarks>
    public void Arm(TimerEntry entry, Instant deadline)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Wheel is null)
        {
            _count++;
        }
        else
        {
            CheckOwner(entry);
            Unlink(entry);
        }

        entry.Wheel = this;
        entry.Deadline = deadline <= Now ? Now : deadline;
        Place(entry);
    }

    /// <summary>Disarms <paramref name="entry"/>; does nothing when it is not armed.</summary>
    public void Cancel(TimerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Wheel is null)
        {
            return;
        }

        CheckOwner(entry);
        Unlink(entry);
        entry.Wheel = null;
        _count--;
    }

    /// <summary>Moves time to <paramref name="now"/> and fires every entry due by then, each once, in
    /// (deadline, arm sequence) order. Entries armed by callbacks for a time up to <paramref name="now"/> fire
    /// in the same call. A time before <see cref="Now"/> is treated as <see cref="Now"/>.</summary>
    /// <returns>The number of callbacks invoked.</returns>
    /// <remarks>If a callback throws, the exception propagates; entries not yet fired stay armed and fire on
    /// the next call. Calling Advance from a callback throws <see cref="InvalidOperationException"/>.</remarks>
    public int Advance(Instant now)
    {
        if (_advancing)
        {
            throw new InvalidOperationException("TimerWheel.Advance cannot be called from a timer callback.");
        }

        if (now < Now)
        {
            now = Now;
        }

        ulong target = ToTick(now);
        int fired = 0;
        _advancing = true;
        try
        {
            while (true)
            {
                fired += FireDue(now);
                if (!TryGetNextEvent(out int level, out int slot, out ulong when) || when > target)
                {
                    break;
                }

                _current = when;
                Cascade(level, slot);
            }

            _current = target;
        }
        finally
        {
            _advancing = false;
        }

        return fired;
    }

    private int FireDue(Instant now)
    {
        int fired = 0;
        while (_heads[DueList] is TimerEntry entry)
        {
            Unlink(entry);
            entry.Wheel = null;
            _count--;
            fired++;
            entry.Callback.OnTimer(entry, now);
        }

        return fired;
    }

    /// <summary>Empties one slot, re-filing each entry (in list order) one level down or more, or as due.</summary>
    private void Cascade(int level, int slot)
    {
        int index = (level * SlotsPerLevel) + slot;
        TimerEntry entry = _heads[index]!;
        TimerEntry tail = entry.Previous!;
        _heads[index] = null;
        _occupied[level] &= ~(1UL << slot);
        SlotsVisited++;
        while (true)
        {
            TimerEntry next = entry.Next!;
            bool last = ReferenceEquals(entry, tail);
            Place(entry);
            if (last)
            {
                return;
            }

            entry = next;
        }
    }

    /// <summary>The earliest slot to visit: the lowest non-empty level's lowest occupied slot, and when it starts.</summary>
    private bool TryGetNextEvent(out int level, out int slot, out ulong when)
    {
        for (level = 0; level < LevelCount; level++)
        {
            ulong bits = _occupied[level];
            if (bits == 0)
            {
                continue;
            }

            slot = BitOperations.TrailingZeroCount(bits);
            int shift = level * SlotBits;
            int prefixShift = shift + SlotBits;
            ulong prefix = prefixShift >= 64 ? 0 : _current & ~((1UL << prefixShift) - 1);
            when = prefix | ((ulong)slot << shift);
            return true;
        }

        slot = 0;
        when = 0;
        return false;
    }

    private void Place(TimerEntry entry)
    {
        ulong tick = ToTick(entry.Deadline);
        ulong differing = tick ^ _current;
        int index = DueList;
        if (differing != 0)
        {
            int level = (63 - BitOperations.LeadingZeroCount(differing)) / SlotBits;
            int slot = (int)(tick >> (level * SlotBits)) & SlotMask;
            index = (level * SlotsPerLevel) + slot;
            _occupied[level] |= 1UL << slot;
        }

        entry.ListIndex = index;
        TimerEntry? head = _heads[index];
        if (head is null)
        {
            entry.Next = entry;
            entry.Previous = entry;
            _heads[index] = entry;
        }
        else
        {
            TimerEntry tail = head.Previous!;
            tail.Next = entry;
            entry.Previous = tail;
            entry.Next = head;
            head.Previous = entry;
        }
    }

    private void Unlink(TimerEntry entry)
    {
        int index = entry.ListIndex;
        if (ReferenceEquals(entry.Next, entry))
        {
            _heads[index] = null;
            if (index != DueList)
            {
                _occupied[index >> SlotBits] &= ~(1UL << (index & SlotMask));
            }
        }
        else
        {
            entry.Previous!.Next = entry.Next;
            entry.Next!.Previous = entry.Previous;
            if (ReferenceEquals(_heads[index], entry))
            {
                _heads[index] = entry.Next;
            }
        }

        entry.Next = null;
        entry.Previous = null;
    }

    private void CheckOwner(TimerEntry entry)
    {
        if (!ReferenceEquals(entry.Wheel, this))
        {
            throw new InvalidOperationException("The timer entry is armed on another TimerWheel.");
        }
    }

    private ulong ToTick(Instant instant) => unchecked((ulong)(instant.Microseconds - _origin));

    private Instant ToInstant(ulong tick) => new(unchecked(_origin + (long)tick));
}
