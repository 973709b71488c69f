using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Wire;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Tcp;

/// <summary>A TIME-WAIT connection whose socket is closed becomes a compact record in the TCP layer
/// (TimeWaitRecord.cs): it must answer exactly as the connection did while its socket was open.</summary>
public sealed class TimeWaitRecordTests
{
    /// <summary>Closes (or only shuts down) our side, lets the peer ACK our FIN and send its own: TIME-WAIT.</summary>
    private static (TcpPeer Peer, NetSocket Socket) InTimeWait(bool closeSocket, bool timestamps)
    {
        var peer = new TcpPeer();
        if (timestamps)
        {
            peer.SynOptions = new TcpOptions { Mss = 1460, HasTimestamp = true, TsVal = 100 };
        }

        NetSocket socket = peer.Establish();
        if (closeSocket)
        {
            socket.Close();
        }
        else
        {
            socket.Shutdown(SocketShutdown.Send);
        }

        peer.Sent();
        peer.Rcv += 1;
        peer.SendData(default, TcpFlags.Fin);
        peer.Sent();
        return (peer, socket);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [Trait("Rfc", "9293 §3.10.7.4")]
    public void ClosedSocket_AnswersInTimeWait_AsTheOpenSocketDoes(bool timestamps)
    {
        var (open, openSocket) = InTimeWait(closeSocket: false, timestamps);
        var (closed, _) = InTimeWait(closeSocket: true, timestamps);
        Assert.Equal(TcpState.TimeWait, openSocket.Connection!.State);
        Assert.Equal(TcpState.TimeWait, Assert.Single(closed.Stack.Tcp.Connections).State);
        Assert.Equal(1, closed.Stack.Tcp.ConnectionCount);

        foreach (TcpPeer peer in new[] { open, closed })
        {
            peer.Harness.Advance(TimeSpan.FromSeconds(1));
            peer.Send(TcpFlags.Rst, default, seq: peer.Nxt);                      // RFC 1337: ignored
            peer.Send(TcpFlags.Ack, peer.Rcv, payload: new byte[] { 1 }, seq: peer.Nxt - 1); // old data: ACKed
            peer.Send(TcpFlags.Fin | TcpFlags.Ack, peer.Rcv, seq: peer.Nxt - 1); // retransmitted FIN: ACKed, 2 MSL again
            peer.Send(TcpFlags.Ack, peer.Rcv, seq: peer.Nxt);                     // in-window pure ACK: no answer
        }

        var a = open.Sent();
        var b = closed.Sent();
        Assert.Equal(2, a.Count);
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Header.Flags, b[i].Header.Flags);
            Assert.Equal(a[i].Header.SequenceNumber, b[i].Header.SequenceNumber);
            Assert.Equal(a[i].Header.AcknowledgmentNumber, b[i].Header.AcknowledgmentNumber);
            Assert.Equal(a[i].Header.Window, b[i].Header.Window);
            Assert.Equal(a[i].Header.Options.HasTimestamp, b[i].Header.Options.HasTimestamp);
            Assert.Equal(a[i].Header.Options.TsEcr, b[i].Header.Options.TsEcr);
            Assert.Equal(a[i].Time, b[i].Time);
        }

        // the retransmitted FIN restarted 2 MSL at 1 s: the entry ends at 61 s for both
        foreach (TcpPeer peer in new[] { open, closed })
        {
            peer.Harness.Advance(TimeSpan.FromSeconds(59.9));
            Assert.Equal(1, peer.Stack.Tcp.ConnectionCount);
            Assert.Equal(1, peer.Stack.Counters.Tcp.TW);
        }

        SocketTableRow row = Assert.Single(SocketTable.Capture(closed.Stack, udp: false), r => r.State == "TIME-WAIT");
        Assert.Equal("timewait", row.Timer);
        foreach (TcpPeer peer in new[] { open, closed })
        {
            peer.Harness.Advance(TimeSpan.FromSeconds(0.2));
            Assert.Equal(0, peer.Stack.Tcp.ConnectionCount);
        }

        Assert.Equal(TcpState.Closed, openSocket.Connection.State);
    }

    [Fact]
    [Trait("Rfc", "6191")]
    public void ClosedSocket_NewerSyn_RecyclesTheRecord()
    {
        var (peer, _) = InTimeWait(closeSocket: true, timestamps: false);
        peer.Send(TcpFlags.Syn, default, seq: peer.Nxt + 100_000, options: new TcpOptions { Mss = 1460 });
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, peer.ExpectOne().Flags);
        Assert.Equal(1, peer.Stack.Counters.Tcp.TWRecycled);
        Assert.Equal(TcpState.SynReceived, Assert.Single(peer.Stack.Tcp.Connections).State);
    }

    /// <summary>The rate benchmark's pattern on one 4-tuple: the server closes first (TIME-WAIT on its side) and the
    /// client's next SYN recycles the record. Each round leaves a stale entry in the expiry queue (the record it
    /// replaced); they must not pile up for 2 MSL (12 million a minute at 200,000 connections a second).</summary>
    [Fact]
    public void RecycledFourTuple_ExpiryQueuesStayBounded_AndTheLastRecordStillExpires()
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(3);
        using NetSocket listener = ListenOn80(serverHost);
        const int Rounds = 500;
        int peak = 0;
        for (int i = 0; i < Rounds; i++)
        {
            using var client = new NetSocket(clientHost, SocketType.Stream);
            client.Bind(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 40000)); // the same 4-tuple every round
            client.Connect(Net.ServerHttp);
            using (NetSocket server = listener.Accept())
            {
                server.Close(); // the active close: TIME-WAIT on the server
            }

            Assert.Equal(0, client.Receive(new byte[1])); // the server's FIN
            client.Close();
            sim.RunFor(TimeSpan.FromMilliseconds(10)); // the last ACK reaches the server
            Assert.Equal(1, serverHost.Tcp.ConnectionCount); // one TIME-WAIT record, recycled by each new SYN
            peak = Math.Max(peak, serverHost.Tcp.TimeWaitQueuedExpiries);
        }

        Assert.InRange(peak, 1, 2 * 1 + 64); // twice the table plus the slack; without compaction it was Rounds
        Assert.True(serverHost.Counters.Tcp.PassiveOpens >= Rounds);

        sim.RunFor(TimeSpan.FromSeconds(61)); // 2 MSL: the last record goes, stale entries or not
        Assert.Equal(0, serverHost.Tcp.ConnectionCount);
    }

    /// <summary>Linux tcp_max_tw_buckets: with the table full, a connection that would enter TIME-WAIT closes at
    /// once instead, counted as TCPTimeWaitOverflow; the ones already waiting keep their 2 MSL.</summary>
    [Fact]
    public void TimeWaitBucketsFull_NextConnectionClosesAtOnce_AndIsCounted()
    {
        var serverOptions = new NetStackOptions();
        serverOptions.Tcp.MaxTimeWaitBuckets = 2;
        var (sim, clientHost, serverHost) = Net.TwoHosts(5, serverOptions: serverOptions);
        using NetSocket listener = ListenOn80(serverHost);
        for (int i = 0; i < 4; i++)
        {
            using var client = new NetSocket(clientHost, SocketType.Stream);
            client.Connect(Net.ServerHttp);
            using (NetSocket server = listener.Accept())
            {
                server.Send(new byte[] { 7 });
                server.Close(); // the active close: TIME-WAIT on the server, while there is room
            }

            Assert.Equal(1, client.Receive(new byte[10]));
            Assert.Equal(0, client.Receive(new byte[10])); // the FIN: every connection ends cleanly for the client
            client.Close();
            sim.RunFor(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(2, serverHost.Tcp.TimeWaitCount);
        Assert.Equal(2, serverHost.Tcp.ConnectionCount);
        Assert.Equal(2, serverHost.Counters.Tcp.TCPTimeWaitOverflow);

        sim.RunFor(TimeSpan.FromSeconds(61)); // the two that waited end at 2 MSL; the table has room again
        Assert.Equal(0, serverHost.Tcp.TimeWaitCount);
        Assert.Equal(0, serverHost.Tcp.ConnectionCount);
    }

    /// <summary>The count covers TIME-WAIT connections whose user still holds the socket as well as the compact
    /// records of closed ones, and goes down when either ends.</summary>
    [Fact]
    public void TimeWaitCount_CoversOpenAndClosedSockets()
    {
        var (sim, clientHost, serverHost) = Net.TwoHosts(6);
        using NetSocket listener = ListenOn80(serverHost);
        var held = new List<NetSocket>();
        for (int i = 0; i < 2; i++)
        {
            using var client = new NetSocket(clientHost, SocketType.Stream);
            client.Connect(Net.ServerHttp);
            NetSocket server = listener.Accept();
            if (i == 0)
            {
                server.Shutdown(SocketShutdown.Send); // the user keeps the socket: TIME-WAIT as a connection
                held.Add(server);
            }
            else
            {
                server.Close(); // a compact record
            }

            Assert.Equal(0, client.Receive(new byte[10]));
            client.Close();
            sim.RunFor(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(TcpState.TimeWait, held[0].Connection!.State);
        Assert.Equal(2, serverHost.Tcp.TimeWaitCount);
        sim.RunFor(TimeSpan.FromSeconds(61));
        Assert.Equal(0, serverHost.Tcp.TimeWaitCount);
        held[0].Dispose();
    }

    private static NetSocket ListenOn80(NetStack host)
    {
        var listener = new NetSocket(host, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(16);
        return listener;
    }
}
