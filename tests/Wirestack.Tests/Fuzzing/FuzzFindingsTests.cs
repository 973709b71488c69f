using System.Net;
using System.Net.Sockets;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Fuzzing;

/// <summary>
/// The stack bugs the fuzzer (and the soak) found, each cut down to its smallest reproduction and asserting the
/// correct behaviour. All are fixed; a new finding is added here, skipped with its <c>KnownStackBug</c> flag tolerated
/// in <c>FuzzOptions.Suite</c> only until the fix lands.
/// </summary>
public sealed class FuzzFindingsTests
{
    private static readonly byte[] s_response = "response"u8.ToArray();

    [Fact]
    [Trait("Rfc", "9293 §3.4")]
    public void Segment_AtRcvNxtPlusHalfTheSequenceSpace_IsRejectedWithAnAck()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        SeqNumber rcvNxt = socket.Connection!.RcvNxt;

        Exception? thrown = Record.Exception(() => peer.Send(TcpFlags.Ack, peer.Rcv, "x"u8, seq: peer.Nxt + int.MinValue));

        Assert.Null(thrown);
        Assert.Equal(rcvNxt, socket.Connection.RcvNxt);
        Assert.Equal(0, socket.Connection.ReceiveQueued);
        Assert.Equal(peer.Nxt, peer.ExpectOne().AcknowledgmentNumber); // not acceptable: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void HalfClose_ResponseAndFinInOneSegment_IsStillReadableInTimeWait()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        socket.Shutdown(SocketShutdown.Send); // the request is sent; now read the response until EOF
        Assert.True(peer.ExpectOne().Has(TcpFlags.Fin));
        peer.Rcv += 1;
        peer.Send(TcpFlags.Ack, peer.Rcv);
        Assert.Equal(TcpState.FinWait2, socket.Connection!.State);

        peer.SendData(s_response, TcpFlags.Fin);

        Assert.Equal(TcpState.TimeWait, socket.Connection.State);
        Assert.Equal(s_response, ReadToEnd(socket));
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void SimultaneousClose_DataBeforeThePeersFin_IsStillReadableAfterClosing()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        socket.Shutdown(SocketShutdown.Send);
        Assert.True(peer.ExpectOne().Has(TcpFlags.Fin));
        peer.SendData(s_response, TcpFlags.Fin); // does not acknowledge our FIN yet
        Assert.Equal(TcpState.Closing, socket.Connection!.State);

        peer.Send(TcpFlags.Ack, peer.Rcv + 1);

        Assert.Equal(TcpState.TimeWait, socket.Connection.State);
        Assert.Equal(s_response, ReadToEnd(socket));
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void ShutdownSendInCloseWait_UnreadRequest_IsStillReadableAfterLastAck()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.SendData(s_response, TcpFlags.Fin);
        Assert.Equal(TcpState.CloseWait, socket.Connection!.State);
        peer.Sent();
        socket.Shutdown(SocketShutdown.Send); // not close(): the socket is still the user's to read
        Assert.True(peer.ExpectOne().Has(TcpFlags.Fin));

        peer.Send(TcpFlags.Ack, peer.Rcv + 1);

        Assert.Equal(TcpState.Closed, socket.Connection.State);
        Assert.Equal(s_response, ReadToEnd(socket));
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void SecondFin_BeyondThePeersFin_DoesNotAdvanceRcvNxt()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.SendData(default, TcpFlags.Fin);
        Assert.Equal(TcpState.CloseWait, socket.Connection!.State);
        SeqNumber afterFin = socket.Connection.RcvNxt;
        peer.Sent();

        peer.Send(TcpFlags.Fin | TcpFlags.Ack, peer.Rcv, seq: peer.Nxt); // a "FIN" one past the peer's real FIN

        Assert.Equal(afterFin, socket.Connection.RcvNxt);
        Assert.All(peer.Sent(), s => Assert.Equal(afterFin, s.Header.AcknowledgmentNumber));
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.4")]
    public void CloseAfterShutdown_InFinWait2_OrphanTimesOutAfterFinTimeout()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        socket.Shutdown(SocketShutdown.Send);
        peer.Sent();
        peer.Send(TcpFlags.Ack, peer.Rcv + 1);
        TcpConnection connection = socket.Connection!;
        Assert.Equal(TcpState.FinWait2, connection.State);

        socket.Close();
        peer.Harness.Advance(peer.Stack.Tcp.Settings.FinTimeout + TimeSpan.FromSeconds(1));

        Assert.Equal(TcpState.Closed, connection.State); // Linux: tcp_fin_timeout for an orphan in FIN-WAIT-2
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.8.6.2.1")]
    public void SmallWindow_AfterALargeOne_DataStillGoesOut()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish(window: 65535);
        peer.Send(TcpFlags.Ack, peer.Rcv, window: 1000); // the window shrinks below min(MSS, max window / 2)
        socket.Blocking = false;
        Assert.Equal(5000, socket.Send(new byte[5000]));

        peer.Harness.Advance(TimeSpan.FromSeconds(5));

        // RFC 9293 §3.8.6.2.1 (4): pushed data goes at the override timeout (0.1-1 s); Linux sends what fits at once.
        Assert.Contains(peer.Sent(), s => s.PayloadLength > 0);
        Assert.NotNull(socket.Connection!.NextDeadline);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.4")]
    public void Close_InSynReceivedOfASimultaneousOpen_SendsFinAndTheOrphanEnds()
    {
        var peer = new TcpPeer();
        var socket = new NetSocket(peer.Stack, SocketType.Stream) { Blocking = false };
        Assert.Equal(SocketError.InProgress, socket.Connect(TcpPeer.RemoteAddress, peer.RemotePort));
        TcpHeader syn = peer.ExpectOne();
        peer.LocalPort = (ushort)socket.LocalEndPoint!.Port;
        peer.Send(TcpFlags.Syn, default, options: new TcpOptions { Mss = 1460 }); // both SYNs cross
        TcpConnection connection = socket.Connection!;
        Assert.Equal(TcpState.SynReceived, connection.State);
        peer.Sent();

        socket.Close();
        peer.Nxt += 1;
        peer.Send(TcpFlags.Ack, syn.SequenceNumber + 1); // the peer acknowledges our SYN

        Assert.Contains(peer.Sent(), s => s.Header.Has(TcpFlags.Fin));
        Assert.Equal(TcpState.FinWait1, connection.State);
        peer.Harness.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.8.6.1")]
    public void ZeroWindow_InClosing_OrphanGivesUpEventually()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.Send(TcpFlags.Ack, peer.Rcv, window: 0);
        socket.Blocking = false;
        Assert.Equal(100, socket.Send(new byte[100]));
        socket.Shutdown(SocketShutdown.Send); // the FIN waits behind the data, behind the zero window
        peer.SendData(default, TcpFlags.Fin, window: 0);
        TcpConnection connection = socket.Connection!;
        Assert.Equal(TcpState.Closing, connection.State);

        socket.Close();
        peer.Harness.Advance(TimeSpan.FromHours(3)); // nobody answers the probes

        Assert.Equal(TcpState.Closed, connection.State);
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
        Assert.Equal(0, peer.Stack.Budget.InUse);
    }

    [Fact]
    [Trait("Rfc", "2018 §8")]
    public void RetransmissionTimeout_SubMssHoleBelowSackedData_IsRetransmitted()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1460, SackPermitted = true } };
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        Assert.Equal(1000, socket.Send(new byte[1000])); // a short segment: nothing in flight, so it goes at once
        Assert.Equal(3000, socket.Send(new byte[3000])); // two full segments behind it (the last 80 bytes wait)
        var sent = peer.Sent();
        Assert.Equal([1000, 1460, 1460], sent.Select(s => s.PayloadLength));
        SeqNumber hole = sent[0].Header.SequenceNumber;
        SeqNumber sackedEnd = hole + 1000 + 2920;

        // The short segment is lost; the peer SACKs the two behind it, three times. The fast retransmission is lost too.
        var sack = new TcpOptions { SackCount = 1 };
        sack.Sacks[0] = new SackBlock(hole + 1000, sackedEnd);
        for (int i = 0; i < 3; i++)
        {
            peer.Send(TcpFlags.Ack, hole, options: sack);
        }

        peer.Sent();
        peer.Harness.Advance(TimeSpan.FromSeconds(10)); // several retransmission timeouts

        // RFC 2018 §8: "the data sender MUST retransmit the segment at the left edge of the window after a
        // retransmit timeout"; sender SWS avoidance is for new data, not for a hole below SND.MAX.
        Assert.Contains(peer.Sent(), s => s.Header.SequenceNumber == hole && s.PayloadLength > 0);
    }

    [Fact]
    [Trait("Rfc", "2018 §8")]
    public void RetransmissionTimeout_AfterTheReceiverReneged_RetransmitsTheLeftEdge()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1460, SackPermitted = true } };
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        Assert.Equal(1000, socket.Send(new byte[1000]));
        SeqNumber edge = peer.ExpectOne().SequenceNumber;

        // The receiver SACKs the segment but never acknowledges it cumulatively (it reneged: RFC 2018 §8 allows it).
        var sack = new TcpOptions { SackCount = 1 };
        sack.Sacks[0] = new SackBlock(edge, edge + 1000);
        peer.Send(TcpFlags.Ack, edge, options: sack);
        peer.Harness.Advance(TimeSpan.FromSeconds(10));

        // "the data sender MUST retransmit the segment at the left edge of the window after a retransmit timeout,
        // whether or not the SACK bit is on for that segment"
        Assert.Contains(peer.Sent(), s => s.Header.SequenceNumber == edge && s.PayloadLength > 0);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.7.1")]
    public void DataSegment_CarryingSackBlocks_ShrinksItsPayloadAndIsNotFragmented()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1460, SackPermitted = true } };
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        peer.Send(TcpFlags.Ack, peer.Rcv, new byte[100], seq: peer.Nxt + 500); // out of order: our segments carry a SACK block
        peer.Sent();

        Assert.Equal(8000, socket.Send(new byte[8000]));

        // RFC 9293 §3.7.1: the options a segment carries come out of the MSS. One SACK block (NOP NOP kind len
        // left right = 12 bytes) leaves 1448 bytes of data, and every datagram fits the 1500-byte MTU whole.
        var datagrams = peer.Harness.TakeSent();
        Assert.NotEmpty(datagrams);
        foreach ((_, byte[] bytes) in datagrams)
        {
            Assert.True(bytes.Length <= 1500, $"a {bytes.Length}-byte datagram on a 1500-byte link");
            Assert.True(SegmentBuilder.TryParseTcp(bytes, out _, out TcpHeader h, out int length), "a fragment, not a whole segment");
            Assert.Equal(1, h.Options.SackCount);
            Assert.True(length <= 1448, $"{length} bytes of data beside a SACK block");
        }
    }

    [Fact]
    [Trait("Rfc", "9293 §3.6.1")]
    public void Connect_EphemeralPort_SkipsAPortHeldByTimeWait()
    {
        var options = new NetStackOptions();
        options.Tcp.EphemeralLow = 50000;
        options.Tcp.EphemeralHigh = 50001;
        var harness = new HostHarness(options);

        // The first connection closes actively: TIME-WAIT holds its 4-tuple after the socket is closed.
        var first = new NetSocket(harness.Stack, SocketType.Stream) { Blocking = false };
        Assert.Equal(SocketError.InProgress, first.Connect(TcpPeer.RemoteAddress, 80));
        ushort held = Handshake(harness, out SeqNumber iss);
        first.Close();
        Inject(harness, held, TcpFlags.Fin | TcpFlags.Ack, new SeqNumber(5001), iss + 2);
        Assert.Equal(TcpState.TimeWait, harness.Stack.Tcp.Connections.Single().State);

        // RFC 9293 §3.6.1: the old incarnation's tuple may not be reused while in TIME-WAIT; like Linux, a connect that
        // picks its own port takes the other one rather than failing with EADDRINUSE.
        for (int i = 0; i < 10; i++)
        {
            var next = new NetSocket(harness.Stack, SocketType.Stream) { Blocking = false };
            Assert.Equal(SocketError.InProgress, next.Connect(TcpPeer.RemoteAddress, 80));
            Assert.NotEqual(held, ((IPEndPoint)next.LocalEndPoint!).Port);
            next.Close();
            harness.TakeSent();
        }
    }

    /// <summary>Answers the stack's SYN with a SYN-ACK (ISN 5000); returns the stack's port and ISS.</summary>
    private static ushort Handshake(HostHarness harness, out SeqNumber iss)
    {
        (_, byte[] synBytes) = harness.TakeSent().Single();
        Assert.True(SegmentBuilder.TryParseTcp(synBytes, out _, out TcpHeader syn, out _));
        iss = syn.SequenceNumber;
        Inject(harness, syn.SourcePort, TcpFlags.Syn | TcpFlags.Ack, new SeqNumber(5000), iss + 1);
        harness.TakeSent();
        return syn.SourcePort;
    }

    private static void Inject(HostHarness harness, ushort port, TcpFlags flags, SeqNumber seq, SeqNumber ack)
    {
        var header = new TcpHeader
        {
            SourcePort = 80,
            DestinationPort = port,
            SequenceNumber = seq,
            AcknowledgmentNumber = ack,
            Flags = flags,
            Window = 65535,
        };
        harness.Inject(SegmentBuilder.Tcp(TcpPeer.RemoteAddress, harness.Local, header, default));
    }

    private static byte[] ReadToEnd(NetSocket socket)
    {
        socket.Blocking = false;
        var received = new MemoryStream();
        byte[] buffer = new byte[4096];
        for (int i = 0; i < 100; i++)
        {
            int n = socket.Receive(buffer, out SocketError error);
            Assert.Equal(SocketError.Success, error);
            if (n == 0)
            {
                break;
            }

            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }
}
