using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>RFC 9293 §3.10.7.4 in the synchronized states, with RFC 5961 and RFC 7323 PAWS.</summary>
public sealed class SynchronizedStateTests
{
    [Fact]
    [Trait("Rfc", "5961 §3.2")]
    public void Rst_ExactSequence_ResetsWithConnectionReset()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.Send(TcpFlags.Rst, default, seq: peer.Nxt);
        Assert.Equal(TcpState.Closed, socket.Connection!.State);
        socket.Receive(new byte[4], out SocketError error);
        Assert.Equal(SocketError.ConnectionReset, error);
        Assert.Equal(1, peer.Stack.Counters.Tcp.EstabResets);
        peer.ExpectNothing(); // an RST is never answered
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void Data_BeyondTheWindow_IsAnsweredWithAnAckAndCountedAsBeyondWindow()
    {
        // Linux's TcpExtBeyondWindow (LINUX_MIB_BEYOND_WINDOW): a segment starting past RCV.NXT + RCV.WND is not
        // acceptable; it is dropped and answered with an ACK of RCV.NXT. One in the window, or an old duplicate, or
        // an RST beyond it, is not counted.
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish(); // the stack advertised 65,535 or less
        peer.Send(TcpFlags.Ack, peer.Rcv, new byte[100], seq: peer.Nxt + 1_000_000);
        TcpHeader ack = peer.ExpectOne();
        Assert.Equal(peer.Nxt, ack.AcknowledgmentNumber);
        Assert.Equal(1, peer.Stack.Counters.Tcp.BeyondWindow);
        Assert.Equal(0, socket.Connection!.ReceiveQueued);

        peer.Send(TcpFlags.Ack, peer.Rcv, new byte[100], seq: peer.Nxt - 500);   // old: a duplicate, not beyond
        peer.Send(TcpFlags.Rst, default, seq: peer.Nxt + 1_000_000);             // an RST is dropped silently
        peer.SendData(new byte[100]);                                            // in the window
        Assert.Equal(1, peer.Stack.Counters.Tcp.BeyondWindow);
        Assert.Equal(100, socket.Connection.ReceiveQueued);
    }

    [Fact]
    [Trait("Rfc", "5961 §3.2")]
    public void Rst_InWindowNotExact_SendsChallengeAckAndKeepsConnection()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.Send(TcpFlags.Rst, default, seq: peer.Nxt + 100);
        Assert.Equal(TcpState.Established, socket.Connection!.State);
        TcpHeader ack = peer.ExpectOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(peer.Nxt, ack.AcknowledgmentNumber);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPChallengeACK);
    }

    [Fact]
    [Trait("Rfc", "5961 §3.2")]
    public void Rst_OutOfWindow_IsDroppedSilently()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.Send(TcpFlags.Rst, default, seq: peer.Nxt + 10_000_000);
        Assert.Equal(TcpState.Established, socket.Connection!.State);
        peer.ExpectNothing();
    }

    [Fact]
    [Trait("Rfc", "5961 §4.2")]
    public void Syn_InEstablished_GetsChallengeAckNotReset()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.Send(TcpFlags.Syn, default, seq: peer.Nxt + 5);
        Assert.Equal(TcpState.Established, socket.Connection!.State);
        TcpHeader ack = peer.ExpectOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPChallengeACK);
    }

    [Fact]
    [Trait("Rfc", "5961 §7")]
    public void ChallengeAcks_AreRateLimitedPerSecond()
    {
        var options = new Wirestack.Stack.NetStackOptions();
        options.Tcp.ChallengeAckLimit = 3;
        var peer = new TcpPeer(options);
        peer.Establish();
        for (int i = 0; i < 10; i++)
        {
            peer.Send(TcpFlags.Syn, default, seq: peer.Nxt + 5);
        }

        Assert.Equal(3, peer.Sent().Count);
        Assert.Equal(7, peer.Stack.Counters.Tcp.TCPACKSkippedChallenge);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void Ack_OfUnsentData_IsAnsweredWithAckAndDropped()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.Send(TcpFlags.Ack, peer.Rcv + 5000, "data"u8);
        TcpHeader ack = peer.ExpectOne();
        Assert.Equal(peer.Nxt, ack.AcknowledgmentNumber); // the data was not accepted
        Assert.Equal(0, socket.Connection!.ReceiveQueued);
    }

    [Fact]
    [Trait("Rfc", "7323 §5.3")]
    public void Paws_OldTimestamp_IsDroppedAndAcked()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1460, HasTimestamp = true, TsVal = 5000 } };
        NetSocket socket = peer.Establish();
        var old = new TcpOptions { HasTimestamp = true, TsVal = 4000, TsEcr = 1 };
        peer.Send(TcpFlags.Ack, peer.Rcv, "stale"u8, options: old);
        Assert.Equal(0, socket.Connection!.ReceiveQueued);
        Assert.Equal(1, peer.Stack.Counters.Tcp.PAWSEstab);
        Assert.Equal(TcpFlags.Ack, peer.ExpectOne().Flags);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void Data_InOrder_IsDeliveredAndAcknowledged()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.SendData("hello"u8);
        peer.Harness.Advance(TimeSpan.FromMilliseconds(1));
        byte[] buffer = new byte[16];
        socket.Blocking = false;
        Assert.Equal(5, socket.Receive(buffer));
        var acks = peer.Sent();
        Assert.Contains(acks, a => a.Header.AcknowledgmentNumber == peer.Nxt);
    }

    [Fact]
    [Trait("Rfc", "2018 §4")]
    public void Data_OutOfOrder_IsSackedAndDeliveredWhenTheHoleFills()
    {
        var peer = new TcpPeer { SynOptions = new TcpOptions { Mss = 1460, SackPermitted = true } };
        NetSocket socket = peer.Establish();
        SeqNumber start = peer.Nxt;
        peer.Send(TcpFlags.Ack, peer.Rcv, "world"u8, seq: start + 5);
        TcpHeader dupAck = peer.ExpectOne();
        Assert.Equal(start, dupAck.AcknowledgmentNumber);
        Assert.Equal(1, dupAck.Options.SackCount);
        Assert.Equal(new SackBlock(start + 5, start + 10), dupAck.Options.Sacks[0]);
        peer.Send(TcpFlags.Ack, peer.Rcv, "hello"u8, seq: start);
        Assert.Equal(start + 10, peer.Sent().Last().Header.AcknowledgmentNumber); // hole filled: immediate ACK
        byte[] buffer = new byte[16];
        socket.Blocking = false;
        Assert.Equal("helloworld", System.Text.Encoding.ASCII.GetString(buffer, 0, socket.Receive(buffer)));
    }

    [Fact]
    [Trait("Rfc", "2525 §2.17")]
    public void Close_WithUnreadData_SendsReset()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        peer.SendData("unread"u8);
        peer.Sent();
        socket.Close();
        TcpHeader rst = peer.ExpectOne();
        Assert.True(rst.Has(TcpFlags.Rst));
        Assert.Equal(1, peer.Stack.Counters.Tcp.TCPAbortOnClose);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.4")]
    public void ShutdownSend_SendsFinAndStillReceives()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        socket.Shutdown(SocketShutdown.Send);
        TcpHeader fin = peer.ExpectOne();
        Assert.True(fin.Has(TcpFlags.Fin));
        Assert.Equal(TcpState.FinWait1, socket.Connection!.State);
        peer.Rcv += 1;
        peer.SendData("late"u8); // acks our FIN too
        Assert.Equal(TcpState.FinWait2, socket.Connection.State);
        byte[] buffer = new byte[8];
        socket.Blocking = false;
        Assert.Equal(4, socket.Receive(buffer));
    }

    [Fact]
    [Trait("Rfc", "1337 §3")]
    public void TimeWait_IgnoresRst_ReacksFin_AndEndsAfterTwoMsl()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        socket.Shutdown(SocketShutdown.Send);
        peer.Sent();
        peer.Rcv += 1;
        peer.SendData(default, TcpFlags.Fin);
        Assert.Equal(TcpState.TimeWait, socket.Connection!.State);
        peer.Sent();
        peer.Send(TcpFlags.Rst, default, seq: peer.Nxt);
        Assert.Equal(TcpState.TimeWait, socket.Connection.State); // RFC 1337: no assassination
        peer.Send(TcpFlags.Fin | TcpFlags.Ack, peer.Rcv, seq: peer.Nxt - 1);
        Assert.Equal(TcpFlags.Ack, peer.ExpectOne().Flags); // retransmitted FIN is acknowledged again
        peer.Harness.Advance(TimeSpan.FromSeconds(59.9));
        Assert.Equal(TcpState.TimeWait, socket.Connection.State);
        peer.Harness.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(TcpState.Closed, socket.Connection.State);
        Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.8.6.1")]
    public void ZeroWindow_ProbesBackOff_AndUserTimeoutEndsIt()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish(window: 0);
        socket.Connection!.UserTimeout = TimeSpan.FromSeconds(30);
        socket.Blocking = false;
        socket.Send(new byte[1000], out _);
        var probes = new List<double>();
        for (int i = 0; i < 1000 && socket.Connection.State == TcpState.Established; i++)
        {
            peer.Harness.Advance(TimeSpan.FromMilliseconds(100));
            foreach (var s in peer.Sent())
            {
                probes.Add(s.Time);
                peer.Send(TcpFlags.Ack, peer.Rcv, window: 0); // the peer answers every probe: still zero
            }
        }

        Assert.True(probes.Count >= 3);
        double[] gaps = probes.Zip(probes.Skip(1), (a, b) => b - a).ToArray();
        for (int i = 1; i < gaps.Length; i++)
        {
            Assert.True(gaps[i] >= gaps[i - 1] - 1e-6, $"probe interval shrank: {string.Join(",", gaps)}");
        }

        Assert.Equal(TcpState.Closed, socket.Connection.State);
        Assert.Equal(SocketError.TimedOut, socket.Connection.PendingError);
        Assert.Contains("window at zero", socket.Connection.ErrorCause);
    }

    [Fact]
    [Trait("Rfc", "1122 §4.2.3.6")]
    public void KeepAlive_ProbesAfterIdle_ThenTimesOutWhenPeerVanished()
    {
        var peer = new TcpPeer();
        NetSocket socket = peer.Establish();
        TcpConnection c = socket.Connection!;
        c.KeepAlive = true;
        c.KeepIdle = TimeSpan.FromSeconds(10);
        c.KeepInterval = TimeSpan.FromSeconds(2);
        c.KeepCount = 3;
        c.ScheduleTimer();
        peer.Harness.Advance(TimeSpan.FromSeconds(30));
        var probes = peer.Sent();
        Assert.Equal(3, probes.Count);
        Assert.All(probes, p => Assert.Equal(peer.Rcv - 1, p.Header.SequenceNumber)); // SEG.SEQ = SND.UNA - 1
        Assert.Equal(SocketError.TimedOut, c.PendingError);
        Assert.Contains("keep-alive", c.ErrorCause);
        Assert.Equal(3, peer.Stack.Counters.Tcp.TCPKeepAlive);
    }

    [Fact]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void Retransmission_BacksOffAndGivesUpAfterRetries2()
    {
        var options = new Wirestack.Stack.NetStackOptions();
        options.Tcp.Retries2 = 3;
        var peer = new TcpPeer(options);
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        socket.Send("ping"u8, out _);
        peer.Harness.Advance(TimeSpan.FromSeconds(60));
        var sent = peer.Sent();
        Assert.Equal(4, sent.Count(s => s.PayloadLength == 4)); // original + 3 retransmissions
        double[] times = sent.Where(s => s.PayloadLength == 4).Select(s => s.Time).ToArray();
        Assert.True(times[2] - times[1] > times[1] - times[0]); // exponential backoff
        Assert.Equal(SocketError.TimedOut, socket.Connection!.PendingError);
    }
}
