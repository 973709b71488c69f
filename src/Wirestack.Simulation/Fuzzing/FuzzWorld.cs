using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Simulation.Fuzzing;

/// <summary>
/// One stack under fuzzing (on a <see cref="CaptureLink"/>, in virtual time) with the fuzzer's peers around it: a
/// listener, established connections with data in flight both ways, connections in FIN-WAIT, CLOSE-WAIT, TIME-WAIT,
/// SYN-SENT and SYN-RECEIVED, with SACK, timestamps and window scaling negotiated on some. Steps
/// (<see cref="FuzzWorld"/>.Steps.cs) act on it; <see cref="CheckInvariants"/> judges it after each.
/// </summary>
public sealed partial class FuzzWorld
{
    public static readonly IPv4Address PeerA = IPv4Address.Parse("192.168.0.2");
    public static readonly IPv4Address PeerB = IPv4Address.Parse("192.168.0.3");
    public static readonly IPv4Address Router = IPv4Address.Parse("192.168.0.254");
    public const ushort ListenPort = 80;
    public const ushort UdpPort = 53;

    /// <summary>Peers (connections) the fuzzer keeps at most; new SYNs and connects beyond it are not made.</summary>
    public const int MaxPeers = 48;

    private readonly List<FuzzPeer> _peers = [];
    private readonly List<NetSocket> _sockets = [];
    private readonly Dictionary<FourTuple, TcpConnection> _table = [];
    private NetSocket? _listener;
    private NetSocket? _udp;
    private ushort _nextPort = 40000;
    private ushort _nextId = 1;
    private int _payloadCounter;

    public FuzzWorld(int seed, FuzzSource setup, FuzzOptions? fuzzOptions = null)
    {
        Options = fuzzOptions ?? FuzzOptions.Strict;
        var options = new NetStackOptions();
        if (setup.Chance(25))
        {
            options.MemoryBudgetBytes = setup.Pick([256 * 1024, 512 * 1024, 2 * 1024 * 1024]); // ENOBUFS paths
        }

        if (setup.Chance(30))
        {
            options.Tcp.SynCookies = setup.Pick([0, 2]);
        }

        options.Tcp.Rfc1337 = setup.Chance(70);
        Harness = new HostHarness(options, seed: seed);
        if (setup.Chance(30))
        {
            // A device with segmentation offload: TCP sends large segments (tcp_tso_autosize) and may defer new data
            // for the next ACK (tcp_tso_should_defer), under every step below.
            Harness.Link.GsoMaxSize = 65535;
        }

        Setup(setup);
    }

    public HostHarness Harness { get; }

    public FuzzOptions Options { get; }

    public NetStack Stack => Harness.Stack;

    public IPv4Address Local => Harness.Local;

    public FuzzStats Stats { get; } = new();

    internal IReadOnlyList<FuzzPeer> Peers => _peers;

    // ---- setup ------------------------------------------------------------------------------------------------------

    private void Setup(FuzzSource s)
    {
        _listener = new NetSocket(Stack, SocketType.Stream) { Blocking = false };
        _listener.Bind(new IPEndPoint(IPAddress.Any, ListenPort));
        _listener.Listen(s.Between(2, 16));
        _udp = new NetSocket(Stack, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        _udp.Bind(new IPEndPoint(IPAddress.Any, UdpPort));

        int passive = s.Between(3, 6);
        for (int i = 0; i < passive; i++)
        {
            FuzzPeer peer = NewPeer(s, PeerA, _nextPort++, ListenPort, stackOpened: false);
            SendSyn(peer);
            if (i < passive - 1)
            {
                SendProper(peer, s, withData: false, withFin: false); // completes the handshake; the last stays half-open
            }
        }

        AcceptAll();
        int active = s.Between(1, 3);
        for (int i = 0; i < active; i++)
        {
            FuzzPeer? peer = ConnectNew(s);
            if (peer is not null)
            {
                SendSynAck(peer);
            }
        }

        ConnectNew(s); // stays in SYN-SENT
        RefreshTable();

        // Data in flight both ways.
        foreach (FuzzPeer peer in _peers.Where(p => p.Socket is not null).ToList())
        {
            peer.Socket!.Send(Payload(s.Between(0, 40_000)), out _);
            if (s.Chance(70))
            {
                SendProper(peer, s, withData: true, withFin: false);
            }
        }

        Learn();
        RefreshTable();
        var established = _peers.Where(p => p.Socket is not null && Conn(p) is { State: TcpState.Established }).ToList();
        // FIN-WAIT-2: we close our side, the peer acknowledges it.
        if (established.Count > 0)
        {
            FuzzPeer p = established[0];
            Shutdown(p.Socket!, SocketShutdown.Send);
            SendAckOfEverything(p);
        }

        // TIME-WAIT: we close, the peer acknowledges and closes too.
        if (established.Count > 1)
        {
            FuzzPeer p = established[1];
            Shutdown(p.Socket!, SocketShutdown.Send);
            SendProper(p, s, withData: false, withFin: true);
        }

        // CLOSE-WAIT: the peer closes.
        if (established.Count > 2)
        {
            SendProper(established[2], s, withData: false, withFin: true);
        }

        // FIN-WAIT-1: we close, nothing acknowledged.
        if (established.Count > 3)
        {
            Shutdown(established[3].Socket!, SocketShutdown.Send);
        }

        Learn();
        RefreshTable();
    }

    private FuzzPeer NewPeer(FuzzSource s, IPv4Address address, ushort remotePort, ushort localPort, bool stackOpened)
    {
        var peer = new FuzzPeer(address, remotePort, localPort, stackOpened)
        {
            OfferMss = s.Pick<ushort?>([null, 1460, 1460, 536, 88, 48, 0, 9000]),
            OfferWindowScale = s.Pick<byte?>([null, null, 0, 2, 7, 14, 15]),
            OfferSack = s.Chance(60),
            OfferTimestamps = s.Chance(60),
            TsClock = s.Chance(15) ? 0xFFFF_FFF0u : s.NextUInt(),
        };
        peer.Iss = new SeqNumber(s.Chance(25) ? 0xFFFF_FF00u - (uint)s.Next(4096) : s.NextUInt());
        peer.Nxt = peer.Iss;
        _peers.Add(peer);
        return peer;
    }

    private FuzzPeer? ConnectNew(FuzzSource s)
    {
        if (_peers.Count >= MaxPeers)
        {
            return null;
        }

        var socket = new NetSocket(Stack, SocketType.Stream) { Blocking = false };
        ushort port = s.Chance(80) ? (ushort)(8000 + s.Next(4)) : (ushort)s.Between(1, 65535);
        SocketError error = socket.Connect(PeerB, port);
        if (error is not (SocketError.InProgress or SocketError.Success or SocketError.WouldBlock))
        {
            socket.Close();
            Stats.Note($"connect: {error}");
            return null;
        }

        _sockets.Add(socket);
        FuzzPeer peer = NewPeer(s, PeerB, port, (ushort)socket.LocalEndPoint!.Port, stackOpened: true);
        peer.Socket = socket;
        Learn();
        return peer;
    }

    private void AcceptAll()
    {
        while (_listener is not null)
        {
            NetSocket? accepted = _listener.Accept(out SocketError error);
            if (accepted is null)
            {
                if (error != SocketError.WouldBlock)
                {
                    Stats.Note($"accept: {error}");
                }

                break;
            }

            accepted.Blocking = false;
            _sockets.Add(accepted);
            IPEndPoint? remote = accepted.RemoteEndPoint;
            FuzzPeer? peer = _peers.LastOrDefault(p => remote is not null && p.RemotePort == remote.Port &&
                p.RemoteAddress == IPv4Address.FromIPAddress(remote.Address) && p.LocalPort == ListenPort);
            if (peer is not null)
            {
                peer.Socket = accepted;
            }

            Stats.Accepted++;
        }
    }

    private void Shutdown(NetSocket socket, SocketShutdown how)
    {
        try
        {
            socket.Shutdown(how);
        }
        catch (WirestackSocketException ex)
        {
            Stats.Note($"shutdown: {ex.SocketErrorCode}"); // the throwing wrapper's ENOTCONN: expected
        }
    }

    // ---- what the peer sends ------------------------------------------------------------------------------------

    internal byte[] Payload(int length)
    {
        byte[] bytes = new byte[length];
        int k = ++_payloadCounter;
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(k * 31 + i * 7);
        }

        return bytes;
    }

    private byte[] SynOptions(FuzzPeer peer, bool reply)
    {
        var parts = new List<byte[]>();
        if (peer.OfferMss is { } mss) parts.Add(TcpOptionBytes.Mss(mss));
        if (peer.OfferWindowScale is { } ws && (!reply || peer.StackOfferedWindowScale)) parts.Add(TcpOptionBytes.WindowScale(ws));
        if (peer.OfferSack && (!reply || peer.StackOfferedSack)) parts.Add(TcpOptionBytes.SackPermitted());
        if (peer.OfferTimestamps && (!reply || peer.StackOfferedTimestamps)) parts.Add(TcpOptionBytes.Timestamp(peer.TsClock++, reply ? peer.TsEcr : 0));
        return TcpOptionBytes.Concat([.. parts]);
    }

    private void SendSyn(FuzzPeer peer)
    {
        peer.Nxt = peer.Iss;
        var tcp = new RawTcp
        {
            SourcePort = peer.RemotePort, DestinationPort = peer.LocalPort, Seq = peer.Iss.Value, Flags = TcpFlags.Syn,
            Options = SynOptions(peer, reply: false),
        };
        peer.SentSyn = true;
        peer.Nxt = peer.Iss + 1;
        InjectTcp(peer.RemoteAddress, tcp);
    }

    private void SendSynAck(FuzzPeer peer)
    {
        var tcp = new RawTcp
        {
            SourcePort = peer.RemotePort, DestinationPort = peer.LocalPort, Seq = peer.Iss.Value, Ack = (peer.StackIss + 1).Value,
            Flags = TcpFlags.Syn | TcpFlags.Ack, Options = SynOptions(peer, reply: true),
        };
        peer.SentSyn = true;
        peer.Nxt = peer.Iss + 1;
        InjectTcp(peer.RemoteAddress, tcp);
    }

    /// <summary>The options every segment of a synchronized peer carries (its timestamp when negotiated).</summary>
    private byte[] SegmentOptions(FuzzPeer peer) =>
        peer.Timestamps ? TcpOptionBytes.Timestamp(++peer.TsClock, peer.TsEcr) : [];

    /// <summary>The sequence number the stack expects next from this peer.</summary>
    internal SeqNumber PeerSeq(FuzzPeer peer) =>
        Conn(peer) is { } c && c.State is not (TcpState.SynSent or TcpState.Closed) ? c.RcvNxt : peer.Nxt;

    /// <summary>One past the highest sequence number the stack has sent (SND.MAX when it has a connection).</summary>
    internal SeqNumber StackMax(FuzzPeer peer) =>
        Conn(peer) is { } c && c.State != TcpState.Closed ? c.SndUna + c.FlightSize : peer.StackHigh;

    /// <summary>A well-behaved peer's next segment: completes a handshake, or acknowledges everything, with data
    /// and a FIN when asked.</summary>
    internal string SendProper(FuzzPeer peer, FuzzSource s, bool withData, bool withFin)
    {
        Learn();
        RefreshTable();
        TcpConnection? c = Conn(peer);
        if (peer.StackOpened && c is { State: TcpState.SynSent })
        {
            SendSynAck(peer);
            return $"proper {peer}: SYN-ACK";
        }

        if (!peer.SentSyn && !peer.StackOpened)
        {
            SendSyn(peer);
            return $"proper {peer}: SYN";
        }

        SeqNumber seq = PeerSeq(peer);
        byte[] data = withData ? Payload(s.Between(1, Math.Max(1, MssFor(peer, c)))) : [];
        TcpFlags flags = TcpFlags.Ack | (withData ? TcpFlags.Psh : 0) | (withFin ? TcpFlags.Fin : 0);
        var tcp = new RawTcp
        {
            SourcePort = peer.RemotePort, DestinationPort = peer.LocalPort, Seq = seq.Value, Ack = StackMax(peer).Value,
            Flags = flags, Window = PeerWindow(peer, 1 << 20), Options = SegmentOptions(peer), Payload = data,
        };
        peer.Nxt = seq + data.Length + (withFin ? 1 : 0);
        InjectTcp(peer.RemoteAddress, tcp);
        AcceptAll();
        return $"proper {peer}: {tcp}";
    }

    private void SendAckOfEverything(FuzzPeer peer)
    {
        Learn();
        RefreshTable();
        var tcp = new RawTcp
        {
            SourcePort = peer.RemotePort, DestinationPort = peer.LocalPort, Seq = PeerSeq(peer).Value, Ack = StackMax(peer).Value,
            Flags = TcpFlags.Ack, Window = PeerWindow(peer, 1 << 20), Options = SegmentOptions(peer),
        };
        InjectTcp(peer.RemoteAddress, tcp);
    }

    internal static int MssFor(FuzzPeer peer, TcpConnection? c) => c?.Mss ?? Math.Max((int)(peer.OfferMss ?? 536), 48);

    internal static ushort PeerWindow(FuzzPeer peer, int bytes) => (ushort)Math.Min(65535, bytes >> peer.WindowShift);

    internal void InjectTcp(IPv4Address source, RawTcp tcp)
    {
        Stats.Segments++;
        byte[] datagram = tcp.Datagram(source, Local, _nextId++);
        AvoidHalfSpaceSequence(datagram);
        NoteReset(datagram);
        LastInjected = $"{source}: {tcp}";
        Harness.Inject(datagram);
        Stats.Datagrams++;
    }

    internal void Inject(byte[] datagram)
    {
        Stats.Datagrams++;
        AvoidHalfSpaceSequence(datagram);
        NoteReset(datagram);
        LastInjected = Convert.ToHexStringLower(datagram);
        Harness.Inject(datagram);
    }

    /// <summary>When <see cref="KnownStackBug.HalfSpaceSequenceCrash"/> is tolerated, a mutated datagram whose
    /// sequence number landed exactly on RCV.NXT + 2^31 (one flipped bit does it) is moved off that number.</summary>
    private void AvoidHalfSpaceSequence(byte[] datagram)
    {
        if (!Options.Tolerates(KnownStackBug.HalfSpaceSequenceCrash) ||
            !SegmentBuilder.TryParseTcp(datagram, out IPv4Header ip, out TcpHeader h, out _) ||
            !_table.TryGetValue(new FourTuple(ip.Destination, h.DestinationPort, ip.Source, h.SourcePort), out TcpConnection? c) ||
            h.SequenceNumber - c.RcvNxt != int.MinValue)
        {
            return;
        }

        int at = (datagram[0] & 0xF) * 4 + 4;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(datagram.AsSpan(at), (h.SequenceNumber + 3).Value);
        RawPacket.FixTransportChecksum(datagram);
    }

    /// <summary>Connections that were sent a valid RST during the current step (RFC 9293 lets a reset in CLOSING,
    /// LAST-ACK or TIME-WAIT delete the TCB with its queues and without an error).</summary>
    private readonly HashSet<FourTuple> _resetThisStep = [];

    /// <summary>Connections the stack sent a segment on during the current step.</summary>
    private readonly HashSet<FourTuple> _sentThisStep = [];

    private void NoteReset(byte[] datagram)
    {
        if (SegmentBuilder.TryParseTcp(datagram, out IPv4Header ip, out TcpHeader h, out _) && h.Has(TcpFlags.Rst))
        {
            _resetThisStep.Add(new FourTuple(ip.Destination, h.DestinationPort, ip.Source, h.SourcePort));
        }
    }

    /// <summary>The datagram injected last (for the report of a step that failed half way).</summary>
    public string? LastInjected { get; private set; }

    internal ushort NextId() => _nextId++;

    // ---- what the stack sends -----------------------------------------------------------------------------------

    /// <summary>Reads what the stack sent since the last call, so the peers know its sequence numbers and options.</summary>
    internal void Learn()
    {
        foreach ((_, byte[] bytes) in Harness.TakeSent())
        {
            Stats.StackSent++;
            if (!SegmentBuilder.TryParseTcp(bytes, out IPv4Header ip, out TcpHeader h, out int length))
            {
                continue;
            }

            _sentThisStep.Add(new FourTuple(ip.Source, h.SourcePort, ip.Destination, h.DestinationPort));

            if (h.Has(TcpFlags.Rst))
            {
                Stats.StackResets++;
            }

            FuzzPeer? peer = FindPeer(ip.Destination, h.DestinationPort, h.SourcePort);
            if (peer is null)
            {
                continue;
            }

            if (h.Has(TcpFlags.Syn))
            {
                peer.SawStackSyn = true;
                peer.StackIss = h.SequenceNumber;
                peer.StackHigh = h.SequenceNumber + 1;
                peer.StackOfferedTimestamps = h.Options.HasTimestamp;
                peer.StackOfferedSack = h.Options.SackPermitted;
                peer.StackOfferedWindowScale = h.Options.WindowScale.HasValue;
            }
            else if (!h.Has(TcpFlags.Rst))
            {
                SeqNumber end = h.SequenceNumber + length + (h.Has(TcpFlags.Fin) ? 1 : 0);
                if (end > peer.StackHigh)
                {
                    peer.StackHigh = end;
                }
            }

            peer.StackWindow = h.Window;
            if (h.Options.HasTimestamp)
            {
                peer.TsEcr = h.Options.TsVal;
            }

            peer.BytesFromStack += length;
        }
    }

    private FuzzPeer? FindPeer(IPv4Address remote, ushort remotePort, ushort localPort)
    {
        for (int i = _peers.Count - 1; i >= 0; i--)
        {
            FuzzPeer p = _peers[i];
            if (p.RemotePort == remotePort && p.LocalPort == localPort && p.RemoteAddress == remote)
            {
                return p;
            }
        }

        return null;
    }

    internal void RefreshTable()
    {
        _table.Clear();
        lock (Stack.SyncRoot)
        {
            foreach (TcpConnection c in Stack.Tcp.Connections)
            {
                _table[c.Tuple] = c;
            }
        }
    }

    internal TcpConnection? Conn(FuzzPeer peer) =>
        _table.TryGetValue(peer.Tuple(Local), out TcpConnection? c) ? c : peer.Socket?.Connection;
}
