using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Time;

namespace Wirestack.Simulation.Fuzzing;

/// <summary>What must hold after every step, and at the end.</summary>
public sealed partial class FuzzWorld
{
    /// <summary>Per open socket's connection: RCV.NXT, bytes queued and whether a FIN had arrived, at the last check.</summary>
    private readonly Dictionary<TcpConnection, (Wire.SeqNumber RcvNxt, int Queued, bool Fin, TcpState State)> _receiveLedger = new(ReferenceEqualityComparer.Instance);

    /// <summary>Bytes the user read from each connection during the current step.</summary>
    private readonly Dictionary<TcpConnection, long> _readThisStep = new(ReferenceEqualityComparer.Instance);

    /// <summary>Connections whose user closed or shut down reading: their unread data may go.</summary>
    private readonly HashSet<TcpConnection> _released = new(ReferenceEqualityComparer.Instance);

    internal void NoteRead(NetSocket socket, int bytes)
    {
        if (socket.Connection is { } c && bytes > 0)
        {
            _readThisStep[c] = _readThisStep.GetValueOrDefault(c) + bytes;
        }
    }

    internal void NoteReleased(NetSocket socket)
    {
        if (socket.Connection is { } c)
        {
            _released.Add(c);
        }
    }

    /// <summary>Throws <see cref="FuzzInvariantException"/> naming the first broken rule.</summary>
    public void CheckInvariants()
    {
        lock (Stack.SyncRoot)
        {
            CheckCore();
        }

        _readThisStep.Clear();
        _resetThisStep.Clear();
        _sentThisStep.Clear();
    }

    /// <summary>Each connection's retransmission count (RTO backoff) at the last check, and the stack's count of
    /// segments it could not build for want of buffers.</summary>
    private readonly Dictionary<TcpConnection, int> _retransmitsBefore = new(ReferenceEqualityComparer.Instance);
    private long _outputNoBuffersBefore;

    /// <summary>A retransmission timeout that fires must send something (RFC 6298 §5.4: "retransmit the earliest
    /// segment that has not been acknowledged"), unless the window is closed or no buffer could be had.</summary>
    private void CheckTimeoutsRetransmit(IEnumerable<TcpConnection> connections)
    {
        bool buffersRanOut = Stack.Tcp.OutputNoBuffers != _outputNoBuffersBefore;
        var now = new Dictionary<TcpConnection, int>(ReferenceEqualityComparer.Instance);
        foreach (TcpConnection c in connections)
        {
            now[c] = c.Retransmits;
            if (_retransmitsBefore.TryGetValue(c, out int before) && c.Retransmits > before && !buffersRanOut &&
                c.State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck &&
                c.SendWindow > 0 && c.FlightSize > 0 && !_sentThisStep.Contains(c.Tuple) &&
                !Options.Tolerates(KnownStackBug.RtoDoesNotRetransmitLeftEdge))
            {
                Fail($"{c}: a retransmission timeout fired (backoff {before} -> {c.Retransmits}) with {c.FlightSize} B in flight, " +
                     $"send window {c.SendWindow}, and nothing was sent: SND.UNA {c.SndUna} is never retransmitted");
            }
        }

        _retransmitsBefore.Clear();
        foreach ((TcpConnection c, int r) in now)
        {
            _retransmitsBefore[c] = r;
        }

        _outputNoBuffersBefore = Stack.Tcp.OutputNoBuffers;
    }

    private void CheckCore()
    {
        Instant now = Harness.Now;
        try
        {
            Stack.Tcp.CheckInvariants();
        }
        catch (InvalidOperationException ex)
        {
            throw new FuzzInvariantException("TcpLayer.CheckInvariants: " + ex.Message);
        }

        CheckBudget();

        var connections = new HashSet<TcpConnection>(Stack.Tcp.Connections, ReferenceEqualityComparer.Instance);
        foreach (NetSocket socket in _sockets)
        {
            if (socket.Connection is { } c)
            {
                connections.Add(c);
            }
        }

        long sendQueued = 0, receiveHeld = 0, established = 0, synSent = 0;
        var inTable = new HashSet<TcpConnection>(Stack.Tcp.Connections, ReferenceEqualityComparer.Instance);
        foreach (TcpConnection c in connections)
        {
            CheckConnection(c, now, inTable.Contains(c));
            sendQueued += c.SendQueued;
            receiveHeld += c.ReceiveQueued + c.OutOfOrderBytes;
            if (c.State is TcpState.Established or TcpState.CloseWait) established++;
            if (c.State is TcpState.SynSent) synSent++;
        }

        // UDP datagrams queued for reading are charged to ReceiveBuffer too (ReceiveQueued counts a 256-byte
        // overhead per datagram, the charge the payload plus headroom).
        receiveHeld += Stack.Udp.Endpoints.Sum(e => (long)e.ReceiveQueued - e.QueuedDatagrams * Udp.UdpEndpoint.PerDatagramOverhead);
        bool udpHolds = Stack.Udp.Endpoints.Any(e => e.QueuedDatagrams > 0); // an empty datagram holds a buffer too
        MemoryBudget budget = Stack.Budget;
        if (budget.InUseFor(BudgetCause.SendBuffer) < sendQueued)
        {
            Fail($"send buffers hold {sendQueued} B but only {budget.InUseFor(BudgetCause.SendBuffer)} B are charged");
        }

        if (sendQueued == 0 && budget.InUseFor(BudgetCause.SendBuffer) != 0)
        {
            Fail($"no send buffer holds data but {budget.InUseFor(BudgetCause.SendBuffer)} B are still charged to SendBuffer");
        }

        if (budget.InUseFor(BudgetCause.ReceiveBuffer) < receiveHeld)
        {
            Fail($"receive buffers hold {receiveHeld} B but only {budget.InUseFor(BudgetCause.ReceiveBuffer)} B are charged");
        }

        if (receiveHeld == 0 && !udpHolds && budget.InUseFor(BudgetCause.ReceiveBuffer) != 0)
        {
            Fail($"no receive buffer holds data but {budget.InUseFor(BudgetCause.ReceiveBuffer)} B are still charged to ReceiveBuffer; " +
                 $"connections: {string.Join("; ", connections.Select(c => $"{c} rq {c.ReceiveQueued} ooo {c.OutOfOrderBytes}"))}");
        }

        if (Stack.Counters.Tcp.CurrEstab != established)
        {
            Fail($"CurrEstab says {Stack.Counters.Tcp.CurrEstab} but {established} connections are ESTABLISHED or CLOSE-WAIT");
        }

        if (Stack.Tcp.HalfOpenCount != synSent)
        {
            Fail($"HalfOpenCount says {Stack.Tcp.HalfOpenCount} but {synSent} connections are in SYN-SENT");
        }

        foreach (Wirestack.Tcp.TcpListener listener in Stack.Tcp.Listeners)
        {
            if (listener.AcceptQueueLength > listener.Backlog + 1)
            {
                Fail($"{listener}: accept queue beyond backlog + 1");
            }
        }

        if (Stack.PollAt is { } pollAt && pollAt < now)
        {
            Fail($"the stack's next deadline {pollAt} is in the past (now {now}): a timer was missed");
        }

        CheckReceiveLedger();
        CheckTimeoutsRetransmit(connections);
    }

    private void CheckBudget()
    {
        MemoryBudget budget = Stack.Budget;
        long sum = 0;
        foreach (BudgetCause cause in Enum.GetValues<BudgetCause>())
        {
            long inUse = budget.InUseFor(cause);
            if (inUse < 0)
            {
                Fail($"budget in use for {cause} is negative: {inUse}");
            }

            sum += inUse;
        }

        if (budget.InUse < 0 || budget.InUse != sum)
        {
            Fail($"budget InUse {budget.InUse} is not the sum by cause {sum}");
        }

        if (budget.ReserveInUse < 0 || budget.ReserveInUse > budget.InUse)
        {
            Fail($"budget ReserveInUse {budget.ReserveInUse} outside [0, InUse {budget.InUse}]");
        }

        if (budget.InUseFor(BudgetCause.PacketTx) != 0 || budget.InUseFor(BudgetCause.PacketRx) != 0)
        {
            Fail($"packet buffers still charged between steps: tx {budget.InUseFor(BudgetCause.PacketTx)} B, rx {budget.InUseFor(BudgetCause.PacketRx)} B (a leaked PacketBuffer)");
        }

        var reassembler = Stack.Ip.Reassembler;
        if (budget.InUseFor(BudgetCause.Reassembly) != reassembler.BytesHeld)
        {
            Fail($"reassembly charge {budget.InUseFor(BudgetCause.Reassembly)} B differs from the {reassembler.BytesHeld} B the reassembler holds");
        }

        if (reassembler.BytesHeld > reassembler.MaxBytes || reassembler.DatagramCount > reassembler.MaxDatagrams)
        {
            Fail($"reassembler holds {reassembler.BytesHeld} B in {reassembler.DatagramCount} datagrams, beyond its limits");
        }
    }

    private void CheckConnection(TcpConnection c, Instant now, bool inTable)
    {
        if (c.SndUna > c.SndNxt)
        {
            Fail($"{c}: SND.UNA {c.SndUna} beyond SND.NXT {c.SndNxt}");
        }

        if (c.FlightSize < 0 || c.SndNxt > c.SndUna + c.FlightSize)
        {
            Fail($"{c}: SND.NXT {c.SndNxt} beyond SND.MAX {c.SndUna + c.FlightSize}");
        }

        if (c.State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck &&
            c.FlightSize > c.SendQueued + 1)
        {
            Fail($"{c}: {c.FlightSize} B in flight but only {c.SendQueued} B queued to retransmit them from");
        }

        int receiveLimit = Math.Max(c.ReceiveBufferSize / 2, 1);
        if (c.ReceiveQueued + c.OutOfOrderBytes > receiveLimit)
        {
            Fail($"{c}: {c.ReceiveQueued} B queued + {c.OutOfOrderBytes} B out of order exceed the receive limit {receiveLimit} B");
        }

        int sendLimit = Math.Max(c.SendBufferSize / 2, 1);
        if (c.SendQueued > sendLimit)
        {
            Fail($"{c}: {c.SendQueued} B queued to send exceed the send limit {sendLimit} B");
        }

        if (c.State != TcpState.Closed && c.NextDeadline is { } deadline)
        {
            if (deadline < now)
            {
                Fail($"{c}: timer deadline {deadline} is in the past (now {now}): stuck");
            }

            if (Stack.Timers.NextDeadline is not { } armed || armed > deadline)
            {
                Fail($"{c}: deadline {deadline} but the timer wheel's next is {Stack.Timers.NextDeadline}: its timer is not armed");
            }
        }

        // Data (or a FIN) waiting, nothing in flight and no timer: nothing will ever send it (RFC 9293 §3.8.6.2.1's
        // override timeout, or the persist timer, must be running).
        bool sendingState = c.State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck;
        bool unsent = c.SendQueued > 0 || c.State is TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck;
        if (sendingState && unsent && c.FlightSize == 0 && c.NextDeadline is null && !Options.Tolerates(KnownStackBug.StalledSenderWithoutTimer))
        {
            Fail($"{c}: {c.SendQueued} B to send (FIN {(c.State is TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck ? "due" : "not asked")}), " +
                 $"nothing in flight, send window {c.SendWindow}, and no timer: the connection is stalled for good");
        }

        if (inTable && c.State == TcpState.Closed && !c.IsConnectQueued)
        {
            Fail($"{c}: CLOSED but still in the connection table");
        }

        if (c.State is TcpState.Closed or TcpState.TimeWait && (c.SendQueued != 0 || c.OutOfOrderBytes != 0))
        {
            Fail($"{c}: {c.State} still holds {c.SendQueued} B to send and {c.OutOfOrderBytes} B out of order");
        }
    }

    /// <summary>No silent data loss: every byte the stack took in (RCV.NXT moved) is either still queued or was
    /// read, unless the connection failed with an error or the user closed it or shut down reading.</summary>
    private void CheckReceiveLedger()
    {
        var seen = new HashSet<TcpConnection>(ReferenceEqualityComparer.Instance);
        foreach (NetSocket socket in _sockets)
        {
            if (socket.Connection is not { } c || _released.Contains(c) || c.ReceiveShutdown)
            {
                continue;
            }

            seen.Add(c);
            bool synchronized = c.State is not (TcpState.Closed or TcpState.SynSent or TcpState.Listen) || c.FinReceived || c.ReceiveQueued > 0;
            if (!_receiveLedger.TryGetValue(c, out var before))
            {
                if (synchronized && c.State != TcpState.Closed)
                {
                    _receiveLedger[c] = (c.RcvNxt, c.ReceiveQueued, c.FinReceived, c.State);
                }

                continue;
            }

            if (c.PendingError != SocketError.Success || (c.State == TcpState.Closed && _resetThisStep.Contains(c.Tuple)))
            {
                _receiveLedger.Remove(c); // a reset or a timeout may flush what was queued (RFC 9293 §3.10.7.4)
                continue;
            }

            if (c.State is TcpState.TimeWait or TcpState.Closed && c.ReceiveQueued == 0 &&
                Options.Tolerates(KnownStackBug.UnreadDataDiscardedOnClose))
            {
                _receiveLedger.Remove(c);
                continue;
            }

            int took = (c.RcvNxt - before.RcvNxt) - (c.FinReceived && !before.Fin ? 1 : 0);
            if (before.Fin && c.RcvNxt != before.RcvNxt)
            {
                if (!Options.Tolerates(KnownStackBug.SecondFinAdvancesRcvNxt))
                {
                    Fail($"{c} (was {before.State}): RCV.NXT moved from {before.RcvNxt} to {c.RcvNxt} after the peer's FIN: " +
                         "the stack acknowledges sequence numbers the peer never sent");
                }

                took = 0;
            }

            long read = _readThisStep.GetValueOrDefault(c);
            long accounted = c.ReceiveQueued - before.Queued + read;
            if (took != accounted)
            {
                Fail($"{c} (was {before.State}): the stack took in {took} B (RCV.NXT {before.RcvNxt} -> {c.RcvNxt}) but queued {c.ReceiveQueued - before.Queued} B " +
                     $"and the user read {read} B: {took - accounted} B acknowledged to the peer were lost without an error");
            }

            _receiveLedger[c] = (c.RcvNxt, c.ReceiveQueued, c.FinReceived, c.State);
        }

        foreach (TcpConnection c in _receiveLedger.Keys.ToList())
        {
            if (!seen.Contains(c))
            {
                _receiveLedger.Remove(c);
            }
        }
    }

    /// <summary>Which tolerated bug explains a connection still alive hours after its user closed it, if any.</summary>
    private KnownStackBug StuckBecause(TcpConnection c) => c switch
    {
        { State: TcpState.FinWait2, NextDeadline: null } => KnownStackBug.OrphanFinWait2NeverTimesOut,
        { State: TcpState.Closing, TimerName: "persist" } => KnownStackBug.PersistNeverGivesUpInClosing,
        { State: TcpState.Established or TcpState.CloseWait, NextDeadline: null, SendQueued: 0 } => KnownStackBug.CloseInSynReceivedIgnored,
        { NextDeadline: null, SendQueued: > 0 } => KnownStackBug.StalledSenderWithoutTimer,
        _ => KnownStackBug.None,
    };

    /// <summary>After <see cref="CloseEverything"/>: nothing is left. Connections stuck by a tolerated bug are
    /// aborted first (so that the budget can still be checked), and counted in <see cref="FuzzStats.Notes"/>.</summary>
    public void CheckAllReleased()
    {
        lock (Stack.SyncRoot)
        {
            foreach (TcpConnection c in Stack.Tcp.Connections.ToList())
            {
                KnownStackBug bug = StuckBecause(c);
                if (bug != KnownStackBug.None && Options.Tolerates(bug))
                {
                    Stats.Note($"known bug {bug}: {c.State}");
                    c.Abort(SocketError.TimedOut, $"fuzzer: stuck by the known bug {bug}", sendReset: false, Harness.Now);
                }
            }

            var remaining = Stack.Tcp.Connections.ToList();
            if (remaining.Count != 0)
            {
                Fail($"{remaining.Count} connections remain hours after everything was closed: " +
                     string.Join("; ", remaining.Take(5).Select(c => $"{c} timer {c.TimerName} next {c.NextDeadline}")));
            }

            if (Stack.Budget.InUse != 0)
            {
                Fail($"budget still in use after everything closed: {Stack.Budget.InUse} B (" +
                     string.Join(", ", Enum.GetValues<BudgetCause>().Where(b => Stack.Budget.InUseFor(b) != 0).Select(b => $"{b} {Stack.Budget.InUseFor(b)}")) + ")");
            }

            if (Stack.Pool.LeasedCount != 0)
            {
                Fail($"{Stack.Pool.LeasedCount} packet buffers still leased after everything closed");
            }

            if (Stack.Counters.Tcp.CurrEstab != 0 || Stack.Tcp.HalfOpenCount != 0 || Stack.Udp.Endpoints.Any())
            {
                Fail($"CurrEstab {Stack.Counters.Tcp.CurrEstab}, HalfOpenCount {Stack.Tcp.HalfOpenCount} after everything closed");
            }
        }
    }

    private static void Fail(string message) => throw new FuzzInvariantException(message);
}

/// <summary>A rule the stack must keep was broken (the fuzzer's verdict, not an exception from the stack).</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);
