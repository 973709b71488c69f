using System.Net;
using System.Net.Sockets;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Tests.Support;

/// <summary>The remote end of one TCP connection, played segment by segment against a stack on a capture link.</summary>
internal sealed class TcpPeer
{
    public static readonly IPv4Address RemoteAddress = IPv4Address.Parse("192.168.0.2");

    public TcpPeer(NetStackOptions? options = null, int seed = 1)
    {
        Harness = new HostHarness(options, seed: seed);
    }

    public HostHarness Harness { get; }

    public NetStack Stack => Harness.Stack;

    public ushort RemotePort { get; set; } = 40000;

    public ushort LocalPort { get; set; } = 8080;

    /// <summary>The peer's next sequence number to send.</summary>
    public SeqNumber Nxt { get; set; } = new(1000);

    /// <summary>What the peer has received from the stack (the next byte it expects).</summary>
    public SeqNumber Rcv { get; set; }

    /// <summary>The stack's ISN as seen in its SYN-ACK (or SYN).</summary>
    public SeqNumber StackIss { get; private set; }

    public NetSocket? Listener { get; private set; }

    public TcpOptions SynOptions { get; set; } = new() { Mss = 1460 };

    /// <summary>A peer of a Linux-profile stack (its TCP settings adjusted by <paramref name="configure"/>) that offers
    /// <paramref name="mss"/> and, with <paramref name="sack"/>, SACK; the accepted socket is non-blocking with a
    /// 400,000-byte send buffer, so tests of what the sender does are limited by TCP, not by the buffer.</summary>
    public static (TcpPeer Peer, NetSocket Socket) LinuxSender(ushort mss, bool sack = false, Action<TcpSettings>? configure = null)
    {
        NetStackOptions options = NetStackOptions.ForProfile("linux");
        configure?.Invoke(options.Tcp);
        var peer = new TcpPeer(options) { SynOptions = new TcpOptions { Mss = mss, SackPermitted = sack } };
        NetSocket socket = peer.Establish();
        socket.Blocking = false;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.SendBuffer, 400_000);
        return (peer, socket);
    }

    /// <summary>Listens, performs the three-way handshake as the client, accepts: an ESTABLISHED server socket.</summary>
    public NetSocket Establish(ushort window = 65535)
    {
        Listener = new NetSocket(Stack, SocketType.Stream);
        Listener.Bind(new IPEndPoint(IPAddress.Any, LocalPort));
        Listener.Listen(16);
        Send(TcpFlags.Syn, default, options: SynOptions, window: window);
        TcpHeader synAck = ExpectOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        StackIss = synAck.SequenceNumber;
        Rcv = synAck.SequenceNumber + 1;
        Nxt += 1;
        Send(TcpFlags.Ack, Rcv, window: window);
        Listener.Blocking = false;
        NetSocket accepted = Listener.Accept();
        return accepted;
    }

    public void Send(TcpFlags flags, SeqNumber ack, ReadOnlySpan<byte> payload = default, TcpOptions options = default,
        ushort window = 65535, SeqNumber? seq = null, bool badChecksum = false, int gsoSize = 0)
    {
        var header = new TcpHeader
        {
            SourcePort = RemotePort,
            DestinationPort = LocalPort,
            SequenceNumber = seq ?? Nxt,
            AcknowledgmentNumber = ack,
            Flags = flags,
            Window = window,
            Options = options,
        };
        Harness.Inject(SegmentBuilder.Tcp(RemoteAddress, Harness.Local, header, payload, badChecksum: badChecksum), gsoSize);
    }

    /// <summary>Sends data from the peer at <see cref="Nxt"/> and advances it.</summary>
    public void SendData(ReadOnlySpan<byte> payload, TcpFlags extra = 0, ushort window = 65535)
    {
        Send(TcpFlags.Ack | extra, Rcv, payload, window: window);
        Nxt += payload.Length + ((extra & TcpFlags.Fin) != 0 ? 1 : 0);
    }

    /// <summary>All TCP segments the stack sent since the last call.</summary>
    public List<(TcpHeader Header, int PayloadLength, double Time)> Sent()
    {
        var result = new List<(TcpHeader, int, double)>();
        foreach ((var time, byte[] bytes) in Harness.TakeSent())
        {
            if (SegmentBuilder.TryParseTcp(bytes, out _, out TcpHeader tcp, out int len))
            {
                result.Add((tcp, len, time.TotalSeconds));
            }
        }

        return result;
    }

    public TcpHeader ExpectOne()
    {
        var sent = Sent();
        Assert.True(sent.Count == 1, $"expected one segment, got {sent.Count}: {string.Join(" | ", sent.Select(s => s.Header.ToString()))}");
        return sent[0].Header;
    }

    public void ExpectNothing()
    {
        var sent = Sent();
        Assert.True(sent.Count == 0, $"expected silence, got: {string.Join(" | ", sent.Select(s => s.Header.ToString()))}");
    }
}
