// Compact TIME-WAIT (see TimeWaitRecord.cs): what of a TIME-WAIT connection without a user goes into its record,
// and the stand-in connection that enumerations (TcpLayer.Connections, ss) show for a record.
namespace Wirestack.Tcp;

public sealed partial class TcpConnection
{
    /// <summary>For a stand-in built from a TIME-WAIT record: the record (its ss figures); otherwise null.</summary>
    internal TimeWaitRecord? TimeWaitSnapshot => _cold?.TimeWaitView is { } view ? view.Record : null;

    /// <summary>Whether this connection (in TIME-WAIT, with no user) can be replaced by a record that answers every
    /// segment as it would; fills <paramref name="record"/> when so.</summary>
    internal bool TryCompactTimeWait(out TimeWaitRecord record)
    {
        record = default;
        if (State != TcpState.TimeWait || !IsOrphan || !InTable || Listener is not null || IsConnectQueued ||
            Observer is not null || Trace is not null || _cold?.TimeWaitView is not null || _hasDsack ||
            (_ooo is not null && !_ooo.IsEmpty) || ReceiveQueued != 0 || SendQueued != 0 || _sndUna != _sndNxt ||
            _rtoAt is not null || _delAckAt is not null || PersistAt is not null || KeepAt is not null ||
            _waitAt is not { } expiry || PendingError != System.Net.Sockets.SocketError.Success)
        {
            return false;
        }

        // The window the next ACK would advertise: constant from here on (RCV.NXT and the free buffer do not move).
        uint wnd = CurrentReceiveWindow();
        RttEstimator rtt = Rtt;
        record = new TimeWaitRecord
        {
            SndNxt = _sndNxt,
            RcvNxt = _rcvNxt,
            TsRecent = _tsRecent,
            TsOffset = _tsOffset,
            Expiry = expiry,
            Window = (ushort)Math.Min(65535u, wnd >> _rcvScale),
            Tos = Tos,
            TsEnabled = _tsEnabled,
            LastAdvertisedZero = _lastAdvertisedZero,
            Mss = Mss,
            Cwnd = Congestion?.Cwnd ?? -1,
            Ssthresh = Congestion?.Ssthresh ?? -1,
            SrttTicks = rtt.SmoothedRtt?.Ticks ?? -1,
            RttVarTicks = rtt.RttVariance?.Ticks ?? -1,
            RtoTicks = rtt.CurrentRto.Ticks,
            SendWindow = _sndWnd,
            Retransmits = Retransmits,
            TotalRetransmits = TotalRetransmits,
        };
        _layer.Timers.Cancel(_timer);
        InTable = false;
        return true;
    }

    /// <summary>A stand-in for a TIME-WAIT record, for enumerations: state, tuple, sequence numbers and timer as
    /// the connection had them. Not in the table: user calls on it change nothing of the record.</summary>
    internal static TcpConnection TimeWaitView(TcpLayer layer, FourTuple tuple, in TimeWaitRecord r)
    {
        var c = new TcpConnection(layer)
        {
            State = TcpState.TimeWait,
            Tuple = tuple,
            IsOrphan = true,
            Mss = r.Mss,
            Retransmits = r.Retransmits,
            TotalRetransmits = r.TotalRetransmits,
        };
        c._sndUna = c._sndNxt = c._sndMax = r.SndNxt;
        c._rcvNxt = r.RcvNxt;
        c._finReceived = true;
        c._sndWnd = r.SendWindow;
        c._waitAt = r.Expiry;
        c.Cold.TimeWaitView = new TimeWaitViewState(r);
        return c;
    }

    private sealed class TimeWaitViewState(TimeWaitRecord record)
    {
        public readonly TimeWaitRecord Record = record;
    }
}
