// LISTEN processing (RFC 9293 §3.10.7.2) with Linux's queue rules and SYN cookies (RFC 4987 §3.6).
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

public sealed partial class TcpLayer
{
    /// <summary>RFC 9293 §3.10.7.2 LISTEN, with Linux's queue rules (seed 004 §1.4, §3.1).</summary>
    private void OnListenerSegment(TcpListener listener, in TcpHeader h, FourTuple tuple, SegmentText payload, Instant now)
    {
        if (h.Has(TcpFlags.Rst))
        {
            return; // first: "An incoming RST should be ignored"
        }

        if (h.Has(TcpFlags.Ack))
        {
            if (!h.Has(TcpFlags.Syn) && Settings.SynCookies > 0 && TryCookieAck(listener, h, tuple, payload, now))
            {
                return;
            }

            // second: "Any acknowledgment is bad if it arrives on a connection still in the LISTEN state. An
            // acceptable reset segment should be formed for any arriving ACK-bearing segment."
            SendResetFor(tuple, h.AcknowledgmentNumber, default, ack: false, now);
            return;
        }

        if (!h.Has(TcpFlags.Syn))
        {
            return;
        }

        if (listener.AcceptQueueFull)
        {
            // Linux tcp_conn_request: a SYN to a listener whose accept queue is full is dropped.
            Counters.ListenOverflows++;
            Counters.ListenDrops++;
            return;
        }

        if (Settings.SynCookies == 2 || (listener.SynQueueFull && Settings.SynCookies == 1))
        {
            // RFC 4987 §3.6: answer without keeping state.
            Counters.TCPReqQFullDoCookies++;
            SendCookieSynAck(h, tuple, now);
            return;
        }

        if (listener.SynQueueFull)
        {
            Counters.TCPReqQFullDrop++;
            Counters.ListenDrops++;
            return;
        }

        var connection = new TcpConnection(this);
        if (listener.Template is { } options)
        {
            connection.InheritOptions(options);
        }

        connection.Tuple = tuple;
        Insert(connection);
        listener.AddHalfOpen(connection);
        Counters.PassiveOpens++;
        connection.OpenPassive(listener, h, tuple, now);
        connection.ScheduleTimer();
    }

    private void SendCookieSynAck(in TcpHeader syn, FourTuple tuple, Instant now)
    {
        int mtuMss = Ip.MtuFor(tuple.RemoteAddress) - 40;
        int mss = Math.Min(syn.Options.Mss ?? 536, mtuMss);
        SeqNumber cookie = _cookies.Encode(tuple, syn.SequenceNumber, mss, now);
        var header = new TcpHeader
        {
            SourcePort = tuple.LocalPort,
            DestinationPort = tuple.RemotePort,
            SequenceNumber = cookie,
            AcknowledgmentNumber = syn.SequenceNumber + 1,
            Flags = TcpFlags.Syn | TcpFlags.Ack,
            Window = (ushort)Math.Min(65535, Settings.ReceiveBufferDefault / 2),
            Options = new TcpOptions { Mss = (ushort)mtuMss },
        };

        if (!Ip.TryRentPacket(header.Length, out PacketBuffer? packet))
        {
            OutputNoBuffers++;
            return;
        }

        packet!.Append(header.Length);
        header.WriteTo(packet.Span, tuple.LocalAddress, tuple.RemoteAddress);
        Counters.OutSegs++;
        Counters.SyncookiesSent++;
        Ip.Output(packet, tuple.LocalAddress, tuple.RemoteAddress, IPProtocol.Tcp, now);
    }

    /// <summary>An ACK to a listener: if it returns a valid cookie, the connection is rebuilt from it.</summary>
    private bool TryCookieAck(TcpListener listener, in TcpHeader h, FourTuple tuple, SegmentText payload, Instant now)
    {
        if (h.Has(TcpFlags.Rst))
        {
            return false;
        }

        SeqNumber clientIsn = h.SequenceNumber - 1;
        if (!_cookies.TryDecode(tuple, clientIsn, h.AcknowledgmentNumber - 1, now, out int mss))
        {
            Counters.SyncookiesFailed++;
            return false;
        }

        Counters.SyncookiesRecv++;
        if (listener.AcceptQueueFull)
        {
            Counters.ListenOverflows++;
            Counters.ListenDrops++;
            if (Settings.AbortOnOverflow)
            {
                SendResetFor(tuple, h.AcknowledgmentNumber, default, ack: false, now);
            }

            return true; // dropped: the client's retransmission will try again while the cookie lives
        }

        var connection = new TcpConnection(this) { Tuple = tuple };
        if (listener.Template is { } options)
        {
            connection.InheritOptions(options);
        }

        Insert(connection);
        Counters.PassiveOpens++;
        connection.OpenFromCookie(listener, h, tuple, mss, now);
        listener.AddEstablished(connection);
        connection.IsOrphan = true;
        if (payload.Length > 0 || h.Has(TcpFlags.Fin))
        {
            connection.OnSegment(h, payload, now);
        }

        connection.ScheduleTimer();
        return true;
    }

    /// <summary>The final ACK of a passive open arrived: move the connection to the accept queue, or (full) drop
    /// the ACK as Linux does, or reset with <see cref="TcpSettings.AbortOnOverflow"/>.</summary>
    internal bool TryQueueForAccept(TcpConnection connection, Instant now)
    {
        TcpListener listener = connection.Listener!;
        if (listener.AcceptQueueFull)
        {
            Counters.ListenOverflows++;
            Counters.ListenDrops++;
            if (Settings.AbortOnOverflow)
            {
                Counters.EmbryonicRsts++;
                connection.Abort(SocketError.Success, null, sendReset: true, now);
            }

            return false;
        }

        listener.PromoteToAcceptQueue(connection);
        connection.IsOrphan = true; // until accepted
        return true;
    }

    internal void OnActiveEstablished(TcpConnection connection)
    {
    }

    internal void OnStateChanged(TcpConnection connection, TcpState old, TcpState state, Instant now)
    {
        if (old == TcpState.SynReceived && state == TcpState.Established && connection.Listener is not null)
        {
            // accepted connections leave the SYN queue through PromoteToAcceptQueue
        }

        if (state == TcpState.SynSent)
        {
            HalfOpenCount++;
        }
        else if (old == TcpState.SynSent)
        {
            HalfOpenCount--;
            StartQueuedConnects(now);
        }

        StateChanged?.Invoke(connection, old, state, now);
    }

    internal void OnConnectionError(TcpConnection connection, SocketError error, string? cause, Instant now) =>
        ConnectionFailed?.Invoke(connection, error, cause, now);
}
