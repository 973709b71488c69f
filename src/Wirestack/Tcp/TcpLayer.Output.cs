// Segments that belong to no connection (RFC 9293 §3.10.7.1 resets), the RFC 5961 §7 challenge-ACK limit, and
// ICMP errors for TCP (RFC 1122 §4.2.3.9, RFC 5927 §4.1).
using System.Net.Sockets;
using Wirestack.Buffers;
using Wirestack.IP;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Tcp;

public sealed partial class TcpLayer
{
    // ---- output helpers ---------------------------------------------------------------------------------------------

    /// <summary>Sends a reset that belongs to no connection (RFC 9293 §3.10.7.1 forms).</summary>
    internal void SendResetFor(FourTuple tuple, SeqNumber seq, SeqNumber ackNumber, bool ack, Instant now)
    {
        var header = new TcpHeader
        {
            SourcePort = tuple.LocalPort,
            DestinationPort = tuple.RemotePort,
            SequenceNumber = seq,
            AcknowledgmentNumber = ack ? ackNumber : default,
            Flags = TcpFlags.Rst | (ack ? TcpFlags.Ack : 0),
        };

        if (!Ip.TryRentPacket(header.Length, out PacketBuffer? packet))
        {
            OutputNoBuffers++;
            return;
        }

        packet!.Append(header.Length);
        header.WriteTo(packet.Span, tuple.LocalAddress, tuple.RemoteAddress);
        Counters.OutSegs++;
        Counters.OutRsts++;
        Ip.Output(packet, tuple.LocalAddress, tuple.RemoteAddress, IPProtocol.Tcp, now);
    }

    /// <summary>RFC 5961 §3.2/§4.2 challenge ACK, limited stack-wide per second (§7).</summary>
    internal void SendChallengeAck(TcpConnection connection, Instant now)
    {
        long second = now.Microseconds / 1_000_000;
        if (second != _challengeSecond)
        {
            _challengeSecond = second;
            _challengeCount = 0;
        }

        if (_challengeCount >= Settings.ChallengeAckLimit)
        {
            Counters.TCPACKSkippedChallenge++;
            return;
        }

        _challengeCount++;
        Counters.TCPChallengeACK++;
        connection.SendAck(now);
    }

    // ---- ICMP -------------------------------------------------------------------------------------------------------

    /// <summary>RFC 1122 §4.2.3.9 and RFC 5927 §4.1: act on an ICMP error only when the quoted sequence number is
    /// in flight. Port/protocol unreachable during connect refuses it (hard error); others are soft.</summary>
    public void DeliverIcmpError(byte type, byte code, ushort nextHopMtu, IPv4Packet quoted, Instant now)
    {
        ReadOnlySpan<byte> payload = quoted.Payload;
        if (payload.Length < 8)
        {
            return;
        }

        ushort localPort = (ushort)(payload[0] << 8 | payload[1]);
        ushort remotePort = (ushort)(payload[2] << 8 | payload[3]);
        var seq = new SeqNumber((uint)(payload[4] << 24 | payload[5] << 16 | payload[6] << 8 | payload[7]));
        var tuple = new FourTuple(quoted.Source, localPort, quoted.Destination, remotePort);
        if (!_connections.TryGetValue(tuple, out TcpConnection? connection))
        {
            if (_timeWait.TryGet(tuple, out TimeWaitRecord record) && seq != record.SndNxt)
            {
                Counters.OutOfWindowIcmps++; // SND.UNA = SND.NXT in TIME-WAIT: only that sequence number is in flight
            }

            return;
        }

        if (!(seq >= connection.SndUna && seq <= connection.SndNxt))
        {
            Counters.OutOfWindowIcmps++;
            return;
        }

        if (type == IcmpV4Type.DestinationUnreachable && connection.State == TcpState.SynSent &&
            code is IcmpV4UnreachableCode.Port or IcmpV4UnreachableCode.Protocol)
        {
            Counters.AttemptFails++;
            connection.Fail(SocketError.ConnectionRefused,
                $"connection refused: ICMP destination unreachable (code {code}) from {quoted.Destination}", now);
        }
    }

    /// <summary>The earliest connection deadline is tracked by the timer wheel; nothing else here needs polling.</summary>
    public void CheckInvariants()
    {
        foreach ((FourTuple tuple, TcpConnection c) in _connections)
        {
            if (c.Tuple != tuple)
            {
                throw new InvalidOperationException($"connection table key {tuple} holds {c.Tuple}");
            }

            if (c.SndUna > c.SndNxt)
            {
                throw new InvalidOperationException($"{c}: SND.UNA {c.SndUna} beyond SND.NXT {c.SndNxt}");
            }
        }
    }
}
