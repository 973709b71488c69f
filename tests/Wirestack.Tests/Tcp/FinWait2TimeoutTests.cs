using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;
using Wirestack.Wire;

namespace Wirestack.Tests.Tcp;

/// <summary>How long an orphan waits in FIN-WAIT-2, as Linux decides it (tcp_fin_time): TCP_LINGER2 when set, else
/// tcp_fin_timeout, never under 3.5 RTOs; a negative TCP_LINGER2 drops the connection instead of waiting.</summary>
public sealed class FinWait2TimeoutTests
{
    /// <summary>An established server socket that shut down its sending side and had its FIN acknowledged.</summary>
    private static (TcpPeer Peer, NetSocket Socket, TcpConnection Connection) InFinWait2(int? linger2 = null, TcpSettings? settings = null)
    {
        NetStackOptions options = NetStackOptions.ForProfile("linux");
        if (settings is not null)
        {
            options.Tcp = settings;
        }

        var peer = new TcpPeer(options);
        NetSocket socket = peer.Establish();
        if (linger2 is { } value)
        {
            Assert.Equal(SocketError.Success, socket.SetSocketOption(LinuxSocketOption.TcpLinger2, value));
        }

        socket.Shutdown(SocketShutdown.Send);
        peer.Sent();
        peer.Send(TcpFlags.Ack, peer.Rcv + 1);
        TcpConnection connection = socket.Connection!;
        Assert.Equal(TcpState.FinWait2, connection.State);
        return (peer, socket, connection);
    }

    /// <summary>The peer's next ACK, answered by the connection (an ACK) or, once it is gone, by a reset.</summary>
    private static TcpFlags AnswerToAck(TcpPeer peer)
    {
        peer.Send(TcpFlags.Ack, peer.Rcv + 1);
        return peer.ExpectOne().Flags;
    }

    [Fact]
    public void Tcp_linger2_shortens_the_orphans_wait_from_tcp_fin_timeout()
    {
        (TcpPeer peer, NetSocket socket, TcpConnection connection) = InFinWait2(linger2: 1);

        socket.Close();
        peer.Harness.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Equal(TcpState.FinWait2, connection.State);
        peer.Harness.Advance(TimeSpan.FromMilliseconds(200));

        Assert.Equal(TcpState.Closed, connection.State);
        Assert.Equal(TcpFlags.Rst, AnswerToAck(peer));
    }

    [Fact]
    public void The_wait_is_never_shorter_than_three_and_a_half_rtos()
    {
        TcpSettings settings = new() { FinTimeout = TimeSpan.FromMilliseconds(100) };
        (TcpPeer peer, NetSocket socket, TcpConnection connection) = InFinWait2(settings: settings);
        TimeSpan floor = TimeSpan.FromMilliseconds(700); // 3.5 × the 200 ms minimum RTO

        socket.Close();
        peer.Harness.Advance(floor - TimeSpan.FromMilliseconds(50));
        Assert.Equal(TcpState.FinWait2, connection.State);
        peer.Harness.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal(TcpState.Closed, connection.State);
    }

    [Fact]
    public void Negative_linger2_resets_at_close_in_fin_wait_2()
    {
        (TcpPeer peer, NetSocket socket, TcpConnection connection) = InFinWait2(linger2: -1);

        socket.Close();

        Assert.Equal(TcpState.Closed, connection.State);
        Assert.Equal(TcpFlags.Rst, peer.ExpectOne().Flags & TcpFlags.Rst);
        Assert.Equal(1, peer.Stack.Tcp.Counters.TCPAbortOnLinger);
    }

    [Fact]
    public void Negative_linger2_resets_an_orphan_as_its_fin_is_acknowledged()
    {
        var peer = new TcpPeer(NetStackOptions.ForProfile("linux"));
        NetSocket socket = peer.Establish();
        Assert.Equal(SocketError.Success, socket.SetSocketOption(LinuxSocketOption.TcpLinger2, -1));
        TcpConnection connection = socket.Connection!;
        socket.Close(); // FIN-WAIT-1, orphaned
        Assert.Equal(TcpFlags.Fin | TcpFlags.Ack, peer.ExpectOne().Flags);

        peer.Send(TcpFlags.Ack, peer.Rcv + 1);

        Assert.Equal(TcpState.Closed, connection.State);
        TcpHeader reset = peer.ExpectOne(); // tcp_v4_do_rcv answers the ACK: <SEQ=SEG.ACK><CTL=RST>
        Assert.Equal(TcpFlags.Rst, reset.Flags);
        Assert.Equal(peer.Rcv + 1, reset.SequenceNumber);
        Assert.Equal(1, peer.Stack.Tcp.Counters.TCPAbortOnData);
        Assert.Equal(TcpFlags.Rst, AnswerToAck(peer));
    }

    [Theory]
    [InlineData(0, 60)]     // tcp_fin_timeout
    [InlineData(30, 30)]
    [InlineData(500, 120)]  // TCP_FIN_TIMEOUT_MAX
    [InlineData(-5, -1)]
    public void Getsockopt_reports_what_linux_reports(int set, int expected)
    {
        var peer = new TcpPeer(NetStackOptions.ForProfile("linux"));
        NetSocket socket = peer.Establish();

        Assert.Equal(SocketError.Success, socket.SetSocketOption(LinuxSocketOption.TcpLinger2, set));

        Assert.Equal(expected, socket.GetSocketOption(LinuxSocketOption.TcpLinger2));
    }

    [Fact]
    public void An_accepted_socket_inherits_the_listeners_linger2()
    {
        var peer = new TcpPeer(NetStackOptions.ForProfile("linux"));
        peer.Establish();
        var listener = new NetSocket(peer.Stack, SocketType.Stream);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, 9090));
        listener.Listen(4);
        Assert.Equal(SocketError.Success, listener.SetSocketOption(LinuxSocketOption.TcpLinger2, 7));
        peer.LocalPort = 9090;
        peer.RemotePort = 40001;
        peer.Nxt = new SeqNumber(5000);

        peer.Send(TcpFlags.Syn, default, options: peer.SynOptions);
        TcpHeader synAck = peer.ExpectOne();
        peer.Send(TcpFlags.Ack, synAck.SequenceNumber + 1, seq: peer.Nxt + 1);
        listener.Blocking = false;
        NetSocket accepted = listener.Accept();

        Assert.Equal(7, accepted.GetSocketOption(LinuxSocketOption.TcpLinger2));
    }
}
