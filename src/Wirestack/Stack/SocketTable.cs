// The socket table of one stack, as `ss -tuanoi` shows it: every listener, TCP connection and UDP endpoint with its
// queues, timer and (for TCP) the congestion and RTT figures. A read-only view taken under the stack's lock; it does
// no I/O and no formatting (the CLI prints it as text or JSON).
using System.Net.Sockets;
using Wirestack.Tcp;
using Wirestack.Time;
using Wirestack.Udp;
using TcpListener = Wirestack.Tcp.TcpListener;

namespace Wirestack.Stack;

/// <summary>One line of <see cref="SocketTable"/>: what <c>ss -tuanoi</c> prints for a socket.</summary>
/// <param name="Protocol">"tcp" or "udp".</param>
/// <param name="State">The state as ss names it: LISTEN, SYN-SENT, ESTAB, TIME-WAIT..., UNCONN for an unconnected
/// UDP socket; CONNECT-QUEUED for a connect waiting for a half-open slot (<see cref="TcpSettings.HalfOpenLimit"/>).</param>
/// <param name="RecvQ">Bytes received and not yet read; for a listener, connections waiting to be accepted.</param>
/// <param name="SendQ">Bytes written and not yet acknowledged; for a listener, its backlog.</param>
/// <param name="Local">Local address:port ("*" for the wildcard address).</param>
/// <param name="Remote">Peer address:port ("*:*" when there is none).</param>
/// <param name="Timer">The pending timer as <c>ss -o</c> names it: on (retransmission), persist, keepalive, timewait,
/// or off.</param>
/// <param name="TimerRemaining">Time until that timer fires, when one is armed.</param>
/// <param name="Retransmits">Retransmissions of the current unacknowledged data (the third figure of ss's timer).</param>
/// <param name="TotalRetransmits">Retransmissions over the connection's life.</param>
/// <param name="Cwnd">Congestion window in segments (ss's <c>cwnd:</c>).</param>
/// <param name="Ssthresh">Slow-start threshold in segments, once set.</param>
/// <param name="Mss">Send MSS in bytes.</param>
/// <param name="Rtt">Smoothed RTT, once measured.</param>
/// <param name="RttVar">RTT variance, once measured.</param>
/// <param name="Rto">The retransmission timeout in force (with backoff).</param>
/// <param name="SendWindow">The peer's advertised window in bytes (scaled).</param>
/// <param name="Drops">UDP: datagrams dropped because the receive buffer was full.</param>
/// <param name="Error">The pending error (SO_ERROR), Success when none.</param>
/// <param name="Cause">What the stack saw that led to <paramref name="Error"/>.</param>
/// <param name="Orphan">The user has closed it (or never accepted it): the stack finishes it alone.</param>
public sealed record SocketTableRow(
    string Protocol,
    string State,
    long RecvQ,
    long SendQ,
    string Local,
    string Remote,
    string Timer,
    TimeSpan? TimerRemaining,
    int Retransmits,
    long TotalRetransmits,
    int? Cwnd,
    int? Ssthresh,
    int? Mss,
    TimeSpan? Rtt,
    TimeSpan? RttVar,
    TimeSpan? Rto,
    long? SendWindow,
    long Drops,
    SocketError Error,
    string? Cause,
    bool Orphan);

/// <summary>Builds the socket table of a stack (<c>ss</c>) and its per-state summary (<c>ss -s</c>).</summary>
public static class SocketTable
{
    /// <summary>Every listener, TCP connection and bound UDP endpoint of <paramref name="stack"/>, in a stable order:
    /// TCP listeners, TCP connections, UDP endpoints, each by local then remote endpoint. Takes the stack's lock.</summary>
    public static IReadOnlyList<SocketTableRow> Capture(NetStack stack, bool tcp = true, bool udp = true)
    {
        ArgumentNullException.ThrowIfNull(stack);
        lock (stack.SyncRoot)
        {
            Instant now = stack.Now;
            var rows = new List<SocketTableRow>();
            if (tcp)
            {
                rows.AddRange(stack.Tcp.Listeners
                    .OrderBy(l => l.Port).ThenBy(l => l.Address.Value)
                    .Select(Listener));
                rows.AddRange(stack.Tcp.Connections
                    .OrderBy(c => c.Tuple.LocalAddress.Value).ThenBy(c => c.Tuple.LocalPort)
                    .ThenBy(c => c.Tuple.RemoteAddress.Value).ThenBy(c => c.Tuple.RemotePort)
                    .Select(c => Connection(c, now)));
            }

            if (udp)
            {
                rows.AddRange(stack.Udp.Endpoints
                    .OrderBy(e => e.LocalAddress.Value).ThenBy(e => e.LocalPort)
                    .ThenBy(e => e.RemoteAddress.Value).ThenBy(e => e.RemotePort)
                    .Select(Udp));
            }

            return rows;
        }
    }

    /// <summary>One connection's row (the caller holds the stack's lock).</summary>
    public static SocketTableRow Connection(TcpConnection c, Instant now)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (c.TimeWaitSnapshot is { } tw)
        {
            return TimeWait(c, tw, now);
        }

        int mss = Math.Max(1, c.Mss);
        int? cwnd = c.Congestion is { } cc ? DivideUp(cc.Cwnd, mss) : null;
        int? ssthresh = c.Congestion is { Ssthresh: < int.MaxValue } s ? DivideUp(s.Ssthresh, mss) : null;
        bool synchronized = c.State.IsSynchronized() || c.State == TcpState.SynReceived;
        TimeSpan? remaining = c.NextDeadline is { } deadline && c.TimerName != "off"
            ? (deadline > now ? deadline - now : TimeSpan.Zero)
            : null;
        return new SocketTableRow(
            "tcp",
            c.IsConnectQueued ? "CONNECT-QUEUED" : c.State.SsName(),
            c.ReceiveQueued,
            c.SendQueued,
            Endpoint(c.Tuple.LocalAddress.ToString(), c.Tuple.LocalAddress.IsUnspecified, c.Tuple.LocalPort),
            c.Tuple.RemotePort == 0 ? "*:*" : Endpoint(c.Tuple.RemoteAddress.ToString(), false, c.Tuple.RemotePort),
            c.TimerName,
            remaining,
            c.Retransmits,
            c.TotalRetransmits,
            cwnd,
            ssthresh,
            c.State == TcpState.Closed ? null : c.Mss,
            c.Rtt.SmoothedRtt,
            c.Rtt.RttVariance,
            c.State == TcpState.Closed ? null : c.Rtt.CurrentRto,
            synchronized ? c.SendWindow : null,
            0,
            c.PendingError,
            c.ErrorCause,
            c.IsOrphan);
    }

    /// <summary>The row of a TIME-WAIT record's stand-in: the figures the connection had when it became a record.</summary>
    private static SocketTableRow TimeWait(TcpConnection c, TimeWaitRecord tw, Instant now)
    {
        int mss = Math.Max(1, tw.Mss);
        return new SocketTableRow(
            "tcp",
            c.State.SsName(),
            0,
            0,
            Endpoint(c.Tuple.LocalAddress.ToString(), c.Tuple.LocalAddress.IsUnspecified, c.Tuple.LocalPort),
            Endpoint(c.Tuple.RemoteAddress.ToString(), false, c.Tuple.RemotePort),
            "timewait",
            tw.Expiry > now ? tw.Expiry - now : TimeSpan.Zero,
            tw.Retransmits,
            tw.TotalRetransmits,
            tw.Cwnd < 0 ? null : DivideUp(tw.Cwnd, mss),
            tw.Ssthresh is < 0 or int.MaxValue ? null : DivideUp(tw.Ssthresh, mss),
            tw.Mss,
            tw.Srtt,
            tw.RttVar,
            TimeSpan.FromTicks(tw.RtoTicks),
            tw.SendWindow,
            0,
            System.Net.Sockets.SocketError.Success,
            null,
            true);
    }

    private static SocketTableRow Listener(TcpListener l) => new(
        "tcp", "LISTEN", l.AcceptQueueLength, l.Backlog,
        Endpoint(l.Address.ToString(), l.Address.IsUnspecified, l.Port), "*:*",
        "off", null, 0, 0, null, null, null, null, null, null, null, 0, SocketError.Success, null, false);

    private static SocketTableRow Udp(UdpEndpoint e) => new(
        "udp", e.IsConnected ? "ESTAB" : "UNCONN", e.ReceiveQueued, 0,
        Endpoint(e.LocalAddress.ToString(), e.LocalAddress.IsUnspecified, e.LocalPort),
        e.IsConnected ? Endpoint(e.RemoteAddress.ToString(), false, e.RemotePort) : "*:*",
        "off", null, 0, 0, null, null, null, null, null, null, null, e.Drops, e.PendingError, null, false);

    /// <summary><c>ss -s</c>: how many sockets are in each state, per protocol ("tcp ESTAB" → 3).</summary>
    public static SortedDictionary<string, int> Summarize(IEnumerable<SocketTableRow> rows)
    {
        var summary = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (SocketTableRow row in rows)
        {
            string key = row.Protocol + " " + row.State;
            summary[key] = summary.GetValueOrDefault(key) + 1;
        }

        return summary;
    }

    private static string Endpoint(string address, bool wildcard, ushort port) => (wildcard ? "*" : address) + ":" + port;

    private static int DivideUp(int bytes, int mss) => (int)(((long)bytes + mss - 1) / mss);
}
