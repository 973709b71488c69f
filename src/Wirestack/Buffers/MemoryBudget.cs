using System.Net.Sockets;

namespace Wirestack.Buffers;

/// <summary>Why a piece of stack memory was asked for; failures are counted per cause.</summary>
public enum BudgetCause
{
    /// <summary>A packet buffer being built for output.</summary>
    PacketTx,
    /// <summary>A packet buffer taken in from a link.</summary>
    PacketRx,
    /// <summary>Socket send-buffer storage.</summary>
    SendBuffer,
    /// <summary>Socket receive-buffer storage (in-order or out-of-order data).</summary>
    ReceiveBuffer,
    /// <summary>IP fragment reassembly.</summary>
    Reassembly,
    /// <summary>Connection control blocks and listener queues.</summary>
    Control,
}

/// <summary>
/// The stack's byte budget (the lesson of seed 000: one shared pool, exhausted, must never take the whole network
/// down). Every buffer a stack holds is charged here; when the budget is spent the call that wanted more gets
/// <see cref="SocketError.NoBufferSpaceAvailable"/> and the failure is counted under its cause.
/// </summary>
public sealed class MemoryBudget
{
    private readonly long[] _failures = new long[Enum.GetValues<BudgetCause>().Length];
    private readonly long[] _inUseByCause = new long[Enum.GetValues<BudgetCause>().Length];

    public MemoryBudget(long limitBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        Limit = limitBytes;
        TransitReserve = Math.Min(limitBytes / 8, 1 << 20);
    }

    /// <summary>The most bytes the stack may hold at once.</summary>
    public long Limit { get; set; }

    /// <summary>The share of <see cref="Limit"/> only packets in transit may use: an eighth, at most 1 MiB.</summary>
    public long TransitReserve { get; set; }

    /// <summary>Bytes charged now.</summary>
    public long InUse { get; private set; }

    /// <summary>The largest <see cref="InUse"/> ever seen.</summary>
    public long HighWater { get; private set; }

    /// <summary>Bytes still available.</summary>
    public long Available => Math.Max(0, Limit - InUse);

    /// <summary>Charges granted past the limit from a connection's reserve.</summary>
    public long ReserveGrants { get; set; }

    /// <summary>Total refused charges (ENOBUFS), all causes.</summary>
    public long Failures { get; private set; }

    public long FailuresFor(BudgetCause cause) => _failures[(int)cause];

    public long InUseFor(BudgetCause cause) => _inUseByCause[(int)cause];

    /// <summary>Charges <paramref name="bytes"/>, or counts a failure and returns false when the budget is spent.</summary>
    public bool TryCharge(int bytes, BudgetCause cause)
    {
        if (bytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes));
        }

        // Packets in transit may use the whole budget; buffers that can pile up (socket buffers, fragments,
        // control blocks) leave the transit share free, so that a stack whose socket buffers hold everything can
        // still send the segments and ACKs that will free them.
        if (!CanCharge(bytes, cause))
        {
            _failures[(int)cause]++;
            Failures++;
            return false;
        }

        InUse += bytes;
        _inUseByCause[(int)cause] += bytes;
        if (InUse > HighWater)
        {
            HighWater = InUse;
        }

        return true;
    }

    /// <summary>Whether <see cref="TryCharge"/> of <paramref name="bytes"/> under <paramref name="cause"/> would succeed now.</summary>
    public bool CanCharge(int bytes, BudgetCause cause) =>
        InUse - ReserveInUse + bytes <= (cause is BudgetCause.PacketTx or BudgetCause.PacketRx ? Limit : Limit - TransitReserve);

    /// <summary>Bytes granted from connections' reserves (beyond the limit): they do not crowd out other charges.</summary>
    public long ReserveInUse { get; private set; }

    /// <summary>Charges a connection's reserve chunk: always granted, counted apart (seed 000: a connection keeps
    /// moving when others have spent the budget).</summary>
    public void ChargeReserve(int bytes, BudgetCause cause)
    {
        ForceCharge(bytes, cause);
        ReserveInUse += bytes;
        ReserveGrants++;
    }

    /// <summary>Charges even past the limit (for memory the stack must take, such as the reserve of an
    /// established connection). Returns whether the charge fitted.</summary>
    public bool ForceCharge(int bytes, BudgetCause cause)
    {
        bool fitted = InUse + bytes <= Limit;
        InUse += bytes;
        _inUseByCause[(int)cause] += bytes;
        if (InUse > HighWater)
        {
            HighWater = InUse;
        }

        return fitted;
    }

    /// <summary>Returns bytes charged earlier under the same cause (<paramref name="fromReserve"/>: by
    /// <see cref="ChargeReserve"/>).</summary>
    public void Release(int bytes, BudgetCause cause, bool fromReserve = false)
    {
        if (fromReserve)
        {
            ReserveInUse -= bytes;
        }

        if (bytes < 0 || bytes > _inUseByCause[(int)cause])
        {
            throw new InvalidOperationException($"budget release of {bytes} B for {cause} exceeds the {_inUseByCause[(int)cause]} B charged");
        }

        InUse -= bytes;
        _inUseByCause[(int)cause] -= bytes;
    }
}
