using System.Buffers.Binary;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tcp;
using Wirestack.Wire;

namespace Wirestack.Simulation.Fuzzing;

/// <summary>The kinds of step, each drawing its choices from a <see cref="FuzzSource"/> and returning a line that
/// says what it did (the failure report lists the last ones).</summary>
public sealed partial class FuzzWorld
{
    /// <summary>Draws one step and does it.</summary>
    public string Step(FuzzSource s)
    {
        Learn();
        RefreshTable();
        PruneDeadPeers();
        int kind = s.Next(100);
        string what = kind switch
        {
            < 28 => MutatedSegment(s),
            < 44 => ProperSegment(s),
            < 49 => LossSignal(s),
            < 52 => OutOfOrderBurst(s),
            < 60 => RawDatagram(s),
            < 63 => Fragments(s),
            < 66 => NewSyn(s),
            < 69 => IcmpError(s),
            < 85 => UserCall(s),
            _ => TimeStep(s),
        };
        Learn();
        AcceptAll();
        RefreshTable();
        return what;
    }

    /// <summary>A peer, most often one whose connection is alive.</summary>
    private FuzzPeer? PickPeer(FuzzSource s)
    {
        if (_peers.Count == 0)
        {
            return null;
        }

        if (s.Chance(85))
        {
            var live = _peers.Where(IsLive).ToList();
            if (live.Count > 0)
            {
                return live[s.Next(live.Count)];
            }
        }

        return _peers[s.Next(_peers.Count)];
    }

    private bool IsLive(FuzzPeer peer) => _table.TryGetValue(peer.Tuple(Local), out TcpConnection? c) && c.State != TcpState.Closed;

    /// <summary>Forgets the oldest peers whose connection is gone and whose socket is closed, to make room.</summary>
    private void PruneDeadPeers()
    {
        for (int i = 0; i < _peers.Count && _peers.Count > MaxPeers - 8; i++)
        {
            FuzzPeer p = _peers[i];
            if (!IsLive(p) && (p.Socket is null || p.Socket.Connection is null or { State: TcpState.Closed }))
            {
                _peers.RemoveAt(i--);
            }
        }
    }

    /// <summary>The peer signals loss: duplicate ACKs at SND.UNA, with SACK blocks (when negotiated) describing
    /// everything above a hole as received, so the stack enters fast retransmit and SACK recovery.</summary>
    private string LossSignal(FuzzSource s)
    {
        FuzzPeer? peer = PickPeer(s);
        TcpConnection? c = peer is null ? null : Conn(peer);
        if (peer is null || c is null || c.FlightSize == 0)
        {
            return "loss: nothing in flight";
        }

        int mss = Math.Max(1, c.Mss);
        SeqNumber una = c.SndUna;
        SeqNumber max = una + c.FlightSize;
        int holes = s.Between(1, 3);
        int acks = s.Between(1, 5);
        for (int i = 0; i < acks; i++)
        {
            var blocks = new List<(uint, uint)>();
            SeqNumber left = una + mss;
            for (int h = 0; h < holes && left < max; h++)
            {
                SeqNumber right = SeqNumber.Min(max, left + mss * s.Between(1, 8));
                blocks.Add((left.Value, right.Value));
                left = right + mss * s.Between(1, 2);
            }

            byte[] options = SegmentOptions(peer);
            if (peer.Sack && blocks.Count > 0)
            {
                blocks.Reverse(); // most recent first, as a receiver reports them
                options = TcpOptionBytes.Concat(options, TcpOptionBytes.Sack([.. blocks.Take(options.Length > 0 ? 3 : 4)]));
            }

            InjectTcp(peer.RemoteAddress, new RawTcp
            {
                SourcePort = peer.RemotePort, DestinationPort = peer.LocalPort, Seq = PeerSeq(peer).Value, Ack = una.Value,
                Flags = TcpFlags.Ack, Window = PeerWindow(peer, 1 << 20), Options = options,
            });
        }

        return $"loss {peer}: {acks} dup ACKs at {una} with {(peer.Sack ? holes : 0)} SACK ranges (flight {c.FlightSize})";
    }

    /// <summary>The peer sends several segments with holes between them, then (usually) fills the holes.</summary>
    private string OutOfOrderBurst(FuzzSource s)
    {
        FuzzPeer? peer = PickPeer(s);
        TcpConnection? c = peer is null ? null : Conn(peer);
        if (peer is null || c is null || c.State is not (TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2))
        {
            return "ooo: no connection";
        }

        SeqNumber start = c.RcvNxt;
        int size = Math.Max(1, Math.Min(c.Mss, s.Between(1, 1460)));
        int count = s.Between(2, 12);
        var order = Enumerable.Range(0, count).ToList();
        var sent = new List<int>();
        foreach (int i in order)
        {
            if (i % 2 == 1 || s.Chance(20))
            {
                SendDataAt(peer, start + i * size, size);
                sent.Add(i);
            }
        }

        bool fill = s.Chance(75);
        if (fill)
        {
            foreach (int i in order.Where(i => !sent.Contains(i)))
            {
                SendDataAt(peer, start + i * size, size);
            }
        }

        return $"ooo {peer}: {count} x {size} B from {start}, sent [{string.Join(",", sent)}]{(fill ? " then the holes" : "")}";
    }

    private void SendDataAt(FuzzPeer peer, SeqNumber seq, int length) =>
        InjectTcp(peer.RemoteAddress, new RawTcp
        {
            SourcePort = peer.RemotePort, DestinationPort = peer.LocalPort, Seq = seq.Value, Ack = StackMax(peer).Value,
            Flags = TcpFlags.Ack, Window = PeerWindow(peer, 1 << 20), Options = SegmentOptions(peer), Payload = Payload(length),
        });

    // ---- TCP segments ---------------------------------------------------------------------------------------------

    private string ProperSegment(FuzzSource s)
    {
        FuzzPeer? peer = PickPeer(s);
        return peer is null ? "proper: no peer" : SendProper(peer, s, withData: s.Chance(50), withFin: s.Chance(8));
    }

    private string NewSyn(FuzzSource s)
    {
        if (_peers.Count >= MaxPeers)
        {
            return "syn: peer limit";
        }

        FuzzPeer peer = NewPeer(s, s.Chance(80) ? PeerA : PeerB, _nextPort++, s.Chance(90) ? ListenPort : (ushort)s.Between(1, 65535), stackOpened: false);
        SendSyn(peer);
        return $"syn {peer} mss {peer.OfferMss} ws {peer.OfferWindowScale} sack {peer.OfferSack} ts {peer.OfferTimestamps} iss {peer.Iss}";
    }

    /// <summary>A mostly-valid segment for a connection, with some fields pushed to the window edges, past them,
    /// across the wrap, or made nonsensical.</summary>
    private string MutatedSegment(FuzzSource s)
    {
        FuzzPeer? peer = PickPeer(s);
        bool stray = peer is null || s.Chance(10);
        IPv4Address source = stray ? (s.Chance(50) ? PeerA : PeerB) : peer!.RemoteAddress;
        ushort remotePort = stray ? (ushort)s.Between(1, 65535) : peer!.RemotePort;
        ushort localPort = stray ? (s.Chance(60) ? ListenPort : (ushort)s.Between(1, 65535)) : peer!.LocalPort;
        TcpConnection? c = stray ? null : Conn(peer!);
        SeqNumber seqBase = stray ? new SeqNumber(s.NextUInt()) : PeerSeq(peer!);
        SeqNumber una = c?.SndUna ?? (stray ? new SeqNumber(s.NextUInt()) : peer!.StackHigh);
        SeqNumber max = c is null ? una : c.SndUna + c.FlightSize;
        int rcvWindow = c is null ? 65535 : (int)Math.Min((long)(peer!.StackWindow) << c.ReceiveScale, int.MaxValue);
        int mss = stray ? 1460 : MssFor(peer!, c);

        uint seq = s.Next(12) switch
        {
            < 4 => seqBase.Value,
            4 => (seqBase + s.Between(1, 3000)).Value,
            5 => (seqBase - s.Between(1, 3000)).Value,
            6 => (seqBase + rcvWindow + s.Between(-2, 2)).Value,
            7 => (seqBase + rcvWindow - s.Between(1, mss)).Value,
            8 => (seqBase + int.MinValue + HalfSpaceNudge(s.Between(-2, 2))).Value,
            9 => s.NextUInt(),
            10 => (seqBase - 1).Value,
            _ => 0xFFFF_FF00u + (uint)s.Next(512),
        };
        uint ack = s.Next(10) switch
        {
            < 4 => max.Value,
            4 => una.Value,
            5 => (una + s.Next(Math.Max(1, max - una + 1))).Value,
            6 => (max + s.Between(1, 100_000)).Value,
            7 => (una - s.Between(1, 70_000)).Value,
            8 => (una - 0x4000_0000).Value,
            _ => s.NextUInt(),
        };

        TcpFlags flags;
        int f = s.Next(100);
        if (f < 70)
        {
            flags = TcpFlags.Ack;
            if (s.Chance(20)) flags |= TcpFlags.Psh;
            if (s.Chance(10)) flags |= TcpFlags.Fin;
            if (s.Chance(4)) flags |= TcpFlags.Urg;
            if (s.Chance(3)) flags |= TcpFlags.Ece | TcpFlags.Cwr;
        }
        else if (f < 76)
        {
            flags = TcpFlags.Syn | TcpFlags.Fin | (s.Chance(50) ? TcpFlags.Ack : 0);
        }
        else if (f < 86)
        {
            flags = TcpFlags.Rst | (s.Chance(50) ? TcpFlags.Ack : 0);
        }
        else if (f < 90)
        {
            flags = TcpFlags.Syn | (s.Chance(50) ? TcpFlags.Ack : 0);
        }
        else
        {
            flags = (TcpFlags)s.Next(256);
        }

        int payloadChoice = s.Next(100);
        int length = payloadChoice < 45 ? 0 : payloadChoice < 92 ? s.Between(1, mss) : s.Between(mss, Math.Min(3 * mss, 9000));
        var tcp = new RawTcp
        {
            SourcePort = remotePort, DestinationPort = localPort, Seq = seq, Ack = ack, Flags = flags,
            Window = s.Next(10) switch { < 8 => stray ? (ushort)65535 : PeerWindow(peer!, 1 << 20), 8 => 0, _ => (ushort)s.Next(65536) },
            Urgent = (flags & TcpFlags.Urg) != 0 || s.Chance(3) ? (ushort)s.Next(65536) : (ushort)0,
            Options = MutatedOptions(s, stray ? null : peer, una, max),
            Payload = Payload(length),
            BadChecksum = s.Chance(2),
            ReservedBits = s.Chance(3) ? (byte)s.Next(16) : (byte)0,
        };
        if (s.Chance(3))
        {
            tcp.DataOffsetWords = s.Next(16);
        }

        InjectTcp(source, tcp);
        return $"segment {(stray ? "stray " : "")}{source}: {tcp}";
    }

    /// <summary>RCV.NXT + 2^31 exactly crashes the stack (<see cref="KnownStackBug.HalfSpaceSequenceCrash"/>): when
    /// that is tolerated, the half-space choice steps around it.</summary>
    private int HalfSpaceNudge(int delta) => delta == 0 && Options.Tolerates(KnownStackBug.HalfSpaceSequenceCrash) ? 3 : delta;

    private byte[] MutatedOptions(FuzzSource s, FuzzPeer? peer, SeqNumber una, SeqNumber max)
    {
        var parts = new List<byte[]>();
        if (peer is not null && peer.Timestamps && s.Chance(85) || s.Chance(5))
        {
            uint clock = peer?.TsClock ?? s.NextUInt();
            uint tsVal = s.Next(100) switch
            {
                < 80 => clock + 1,
                < 90 => clock - (uint)s.Between(1, 1000),
                < 93 => clock + 0x7FFF_FFFFu,
                < 96 => 0,
                _ => s.NextUInt(),
            };
            if (peer is not null && tsVal == clock + 1)
            {
                peer.TsClock = tsVal;
            }

            parts.Add(TcpOptionBytes.Timestamp(tsVal, s.Chance(80) ? peer?.TsEcr ?? 0 : s.NextUInt()));
        }

        if ((peer is not null && peer.Sack && s.Chance(30)) || s.Chance(5))
        {
            int count = s.Between(1, parts.Count > 0 ? 3 : 4);
            var blocks = new (uint, uint)[count];
            for (int i = 0; i < count; i++)
            {
                uint a = SackEdge(s, una, max);
                uint b = s.Chance(80) ? a + (uint)s.Between(1, 20_000) : SackEdge(s, una, max);
                blocks[i] = s.Chance(90) ? (a, b) : (b, a);
            }

            parts.Add(TcpOptionBytes.Sack(blocks));
        }

        if (s.Chance(5)) parts.Add(TcpOptionBytes.Mss((ushort)s.Pick([0, 1, 48, 536, 1460, 65535])));
        if (s.Chance(5)) parts.Add(TcpOptionBytes.WindowScale((byte)s.Pick([0, 7, 14, 15, 255])));
        if (s.Chance(3)) parts.Add(TcpOptionBytes.SackPermitted());
        if (s.Chance(8))
        {
            parts.Add(s.Next(9) switch
            {
                0 => TcpOptionBytes.Raw(TcpOptions.KindMss, 0),
                1 => TcpOptionBytes.Raw(TcpOptions.KindTimestamp, 1),
                2 => TcpOptionBytes.Raw((byte)s.Between(9, 255), 40, 1, 2, 3),
                3 => TcpOptionBytes.Raw((byte)s.Between(9, 255), (byte)s.Between(2, 6), 0, 0, 0, 0),
                4 => [TcpOptions.KindEnd, 0xDE, 0xAD, 0xBE],
                5 => TcpOptionBytes.Raw(TcpOptions.KindMss, 3, 5),
                6 => TcpOptionBytes.Raw(TcpOptions.KindTimestamp, 9, 1, 2, 3, 4, 5, 6, 7),
                7 => TcpOptionBytes.Raw(TcpOptions.KindSack, (byte)s.Pick([2, 3, 11, 42]), 0, 0, 0, 0, 0, 0, 0, 0, 0),
                _ => TcpOptionBytes.Raw(TcpOptions.KindWindowScale, 2),
            });
        }

        byte[] options = TcpOptionBytes.Concat([.. parts]);
        return options.Length > TcpOptions.MaxLength ? options[..TcpOptions.MaxLength] : options;
    }

    private static uint SackEdge(FuzzSource s, SeqNumber una, SeqNumber max) => s.Next(6) switch
    {
        0 => (una - s.Between(1, 50_000)).Value,
        1 => una.Value,
        2 => (una + s.Next(Math.Max(1, max - una + 1))).Value,
        3 => max.Value,
        4 => (max + s.Between(1, 50_000)).Value,
        _ => s.NextUInt(),
    };

    // ---- raw datagrams, fragments, ICMP --------------------------------------------------------------------------

    /// <summary>A well-formed datagram (TCP for a peer, UDP, ICMP echo or error) with bytes mutated, and usually its
    /// checksums fixed afterwards so the mutation reaches the checks behind them.</summary>
    private string RawDatagram(FuzzSource s)
    {
        byte[] datagram = BaseDatagram(s, out string kind);
        var log = new List<string>();
        int mutations = s.Between(1, 4);
        for (int m = 0; m < mutations && datagram.Length > 0; m++)
        {
            datagram = Mutate(s, datagram, log);
        }

        if (s.Chance(60)) RawPacket.FixTransportChecksum(datagram);
        if (s.Chance(75)) RawPacket.FixHeaderChecksum(datagram);
        Inject(datagram);
        return $"raw {kind} [{string.Join(",", log)}] {Convert.ToHexStringLower(datagram.AsSpan(0, Math.Min(48, datagram.Length)))}";
    }

    private byte[] BaseDatagram(FuzzSource s, out string kind)
    {
        FuzzPeer? peer = PickPeer(s);
        switch (s.Next(4))
        {
            case 0 when peer is not null:
                kind = "tcp";
                return new RawTcp
                {
                    SourcePort = peer.RemotePort, DestinationPort = peer.LocalPort, Seq = PeerSeq(peer).Value, Ack = StackMax(peer).Value,
                    Flags = TcpFlags.Ack | TcpFlags.Psh, Window = PeerWindow(peer, 1 << 20), Options = SegmentOptions(peer),
                    Payload = Payload(s.Between(0, 600)),
                }.Datagram(peer.RemoteAddress, Local, NextId());
            case 1:
                kind = "udp";
                return RawPacket.Udp(PeerA, Local, (ushort)s.Between(1, 65535), s.Chance(70) ? UdpPort : (ushort)s.Between(1, 65535), Payload(s.Between(0, 600)));
            case 2:
                kind = "icmp-echo";
                return RawPacket.Icmp(PeerA, Local, 8, 0, s.NextUInt(), Payload(s.Between(0, 200)));
            default:
                kind = "icmp-error";
                return IcmpErrorDatagram(s, peer, out _);
        }
    }

    private byte[] Mutate(FuzzSource s, byte[] d, List<string> log)
    {
        switch (s.Next(11))
        {
            case 0:
            {
                int at = s.Next(d.Length);
                d[at] = (byte)s.Next(256);
                log.Add($"set {at}={d[at]}");
                return d;
            }
            case 1:
            {
                int at = s.Next(d.Length);
                d[at] ^= (byte)(1 << s.Next(8));
                log.Add($"flip {at}");
                return d;
            }
            case 2:
                d[0] = (byte)((d[0] & 0xF0) | s.Next(16));
                log.Add($"ihl {d[0] & 0xF}");
                return d;
            case 3 when d.Length >= 4:
            {
                int total = s.Next(3) switch { 0 => s.Next(65536), 1 => d.Length + s.Between(-24, 24), _ => s.Next(24) };
                BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), (ushort)total);
                log.Add($"total {(ushort)total}");
                return d;
            }
            case 4 when d.Length >= 8:
            {
                int field = (s.Chance(50) ? 0x2000 : 0) | (s.Chance(10) ? 0x4000 : 0) | (s.Chance(5) ? 0x8000 : 0) | (s.Chance(60) ? s.Next(0x2000) : 0);
                BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(6), (ushort)field);
                log.Add($"frag {field:x4}");
                return d;
            }
            case 5:
            {
                int length = s.Next(d.Length);
                log.Add($"truncate {length}");
                return d[..length];
            }
            case 6:
            {
                int extra = s.Between(1, 64);
                log.Add($"append {extra}");
                return [.. d, .. Payload(extra)];
            }
            case 7 when d.Length >= 10:
                d[9] = (byte)s.Pick([1, 6, 17, 2, 41, 255, s.Next(256)]);
                log.Add($"proto {d[9]}");
                return d;
            case 8 when d.Length >= 20:
            {
                IPv4Address address = s.Next(5) switch
                {
                    0 => Local,
                    1 => IPv4Address.Broadcast,
                    2 => IPv4Address.Parse("224.0.0.1"),
                    3 => IPv4Address.Parse("192.168.0.255"),
                    _ => new IPv4Address(s.NextUInt()),
                };
                bool source = s.Chance(70);
                address.Write(d.AsSpan(source ? 12 : 16));
                log.Add($"{(source ? "src" : "dst")} {address}");
                return d;
            }
            case 9 when d.Length >= 9:
                d[8] = (byte)s.Next(2);
                log.Add($"ttl {d[8]}");
                return d;
            default:
                d[0] = (byte)((s.Next(16) << 4) | (d[0] & 0xF));
                log.Add($"version {d[0] >> 4}");
                return d;
        }
    }

    /// <summary>A datagram (TCP data for a peer, or UDP) cut into fragments with tiny, overlapping, duplicated and
    /// missing pieces, in shuffled order.</summary>
    private string Fragments(FuzzSource s)
    {
        FuzzPeer? peer = PickPeer(s);
        byte[] whole = peer is not null && s.Chance(60)
            ? new RawTcp
            {
                SourcePort = peer.RemotePort, DestinationPort = peer.LocalPort, Seq = PeerSeq(peer).Value, Ack = StackMax(peer).Value,
                Flags = TcpFlags.Ack, Window = PeerWindow(peer, 1 << 20), Options = SegmentOptions(peer), Payload = Payload(s.Between(16, 3000)),
            }.Datagram(peer.RemoteAddress, Local)
            : RawPacket.Udp(PeerA, Local, 1000, UdpPort, Payload(s.Between(16, 3000)));
        int payloadLength = whole.Length - 20;
        ushort id = s.Chance(80) ? NextId() : (ushort)s.Next(4);
        var pieces = new List<(int Offset, int Length, bool More)>();
        int offset = 0;
        while (offset < payloadLength)
        {
            int length = s.Next(4) == 0 ? 8 : s.Between(1, 200) * 8;
            bool more = offset + length < payloadLength;
            pieces.Add((offset, Math.Min(length, payloadLength - offset), more || s.Chance(3)));
            offset += length;
        }

        int edits = s.Between(0, 3);
        for (int e = 0; e < edits && pieces.Count > 0; e++)
        {
            int i = s.Next(pieces.Count);
            (int o, int l, bool m) = pieces[i];
            switch (s.Next(5))
            {
                case 0: pieces.RemoveAt(i); break; // a hole: reassembly times out
                case 1: pieces.Add(pieces[i]); break; // exact duplicate
                case 2: pieces[i] = (o, l + s.Between(1, 8) * 8, m); break; // overlap the next
                case 3: pieces[i] = (Math.Max(0, o - 8 * s.Between(1, 4)), l, m); break; // overlap the previous
                default: pieces[i] = (o + 8 * s.Between(1, 8000), l, m); break; // beyond 64 KiB
            }
        }

        for (int i = pieces.Count - 1; i > 0; i--)
        {
            if (s.Chance(30))
            {
                int j = s.Next(i + 1);
                (pieces[i], pieces[j]) = (pieces[j], pieces[i]);
            }
        }

        foreach ((int o, int l, bool m) in pieces)
        {
            Inject(RawPacket.Fragment(whole, Math.Min(o, 65528), l, m, id));
        }

        return $"fragments id {id} of {payloadLength} B: {string.Join(" ", pieces.Select(p => $"{p.Offset}+{p.Length}{(p.More ? "+" : "")}"))}";
    }

    private string IcmpError(FuzzSource s)
    {
        byte[] datagram = IcmpErrorDatagram(s, PickPeer(s), out string what);
        Inject(datagram);
        return what;
    }

    /// <summary>An ICMP error quoting a segment the stack might have sent, with a sequence number in or out of flight.</summary>
    private byte[] IcmpErrorDatagram(FuzzSource s, FuzzPeer? peer, out string what)
    {
        (byte type, byte code) = s.Next(7) switch
        {
            0 => ((byte)3, (byte)3),
            1 => ((byte)3, (byte)2),
            2 => ((byte)3, (byte)4),
            3 => ((byte)3, (byte)s.Next(16)),
            4 => ((byte)11, (byte)0),
            5 => ((byte)4, (byte)0),
            _ => ((byte)s.Next(256), (byte)s.Next(256)),
        };
        TcpConnection? c = peer is null ? null : Conn(peer);
        SeqNumber seq = c is null ? new SeqNumber(s.NextUInt()) : s.Next(3) switch
        {
            0 => c.SndUna,
            1 => c.SndUna + c.FlightSize,
            _ => new SeqNumber(s.NextUInt()),
        };
        byte[] quotedTcp = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(quotedTcp, peer?.LocalPort ?? UdpPort);
        BinaryPrimitives.WriteUInt16BigEndian(quotedTcp.AsSpan(2), peer?.RemotePort ?? 1000);
        BinaryPrimitives.WriteUInt32BigEndian(quotedTcp.AsSpan(4), seq.Value);
        byte protocol = peer is not null && s.Chance(85) ? IPProtocol.Tcp : IPProtocol.Udp;
        byte[] quoted = RawPacket.IPv4(Local, peer?.RemoteAddress ?? PeerA, protocol, quotedTcp, totalLength: s.Chance(80) ? 1500 : null);
        if (s.Chance(10))
        {
            quoted = quoted[..s.Next(quoted.Length)];
        }

        uint rest = type == 3 && code == 4 ? (uint)s.Pick([0, 68, 296, 576, 1280, 1500, 65535]) : 0;
        IPv4Address from = s.Chance(50) ? Router : peer?.RemoteAddress ?? PeerA;
        what = $"icmp {type}/{code} from {from} quoting {(protocol == IPProtocol.Tcp ? "tcp" : "udp")} {peer} seq {seq} ({quoted.Length} B) rest {rest}";
        return RawPacket.Icmp(from, Local, type, code, rest, quoted);
    }

    // ---- user calls -----------------------------------------------------------------------------------------------

    private string UserCall(FuzzSource s)
    {
        NetSocket? socket = _sockets.Count == 0 ? null : _sockets[s.Next(_sockets.Count)];
        if (Options.SocketOptions && s.Chance(15))
        {
            return SocketOptionCall(s, socket);
        }

        int call = s.Next(100);
        if (socket is null || call >= 88)
        {
            return OtherCall(s, call);
        }

        if (call < 35)
        {
            int size = s.Pick([1, 100, 1460, 2048, 5000, 6500, 8000, 20_000, 70_000]);
            int n = socket.Send(Payload(size), out SocketError error);
            return $"send {size} on {socket}: {n} {error}";
        }

        if (call < 70)
        {
            byte[] buffer = new byte[s.Pick([1, 100, 4096, 65536])];
            int n = socket.Receive(buffer, out SocketError error);
            NoteRead(socket, n);
            return $"receive {buffer.Length} on {socket}: {n} {error}";
        }

        if (call < 80)
        {
            var how = (SocketShutdown)s.Next(3);
            string before = socket.ToString();
            if (how != SocketShutdown.Send)
            {
                NoteReleased(socket);
            }

            Shutdown(socket, how);
            return $"shutdown {how} on {before}";
        }

        string closed = socket.ToString();
        Close(socket);
        return $"close {closed}";
    }

    /// <summary>A Linux socket option that changes when and what TCP sends, or a send with MSG_MORE
    /// (<see cref="FuzzOptions.SocketOptions"/>).</summary>
    private string SocketOptionCall(FuzzSource s, NetSocket? socket)
    {
        int which = s.Next(6);
        if (which == 5 && socket is not null)
        {
            int bytes = s.Pick([0, 1, 1000, 16384, -1]);
            return $"setsockopt TCP_NOTSENT_LOWAT {bytes} on {socket}: {socket.SetSocketOption(LinuxSocketOption.TcpNotSentLowat, bytes)}";
        }

        if (which >= 4 || socket is null)
        {
            if (_listener is null)
            {
                return "defer accept: no listener";
            }

            int seconds = s.Pick([0, 1, 3, 30, -1]);
            SocketError deferError = _listener.SetSocketOption(LinuxSocketOption.TcpDeferAccept, seconds);
            return $"setsockopt TCP_DEFER_ACCEPT {seconds} on the listener: {deferError}";
        }

        switch (which)
        {
            case 0:
            {
                int on = s.Next(2);
                return $"setsockopt TCP_CORK {on} on {socket}: {socket.SetSocketOption(LinuxSocketOption.TcpCork, on)}";
            }
            case 1:
            {
                int on = s.Next(2);
                return $"setsockopt TCP_NODELAY {on} on {socket}: {socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.NoDelay, on)}";
            }
            case 2:
            {
                int seconds = s.Pick([-1, 0, 1, 5, 200]);
                return $"setsockopt TCP_LINGER2 {seconds} on {socket}: {socket.SetSocketOption(LinuxSocketOption.TcpLinger2, seconds)}";
            }
            default:
            {
                int size = s.Pick([1, 100, 1460, 5000]);
                int n = socket.Send(Payload(size), out SocketError error, more: true);
                return $"send {size} MSG_MORE on {socket}: {n} {error}";
            }
        }
    }

    private string OtherCall(FuzzSource s, int call)
    {
        switch (call % 4)
        {
            case 0:
            {
                FuzzPeer? peer = ConnectNew(s);
                return peer is null ? "connect: none" : $"connect to {peer.RemoteAddress}:{peer.RemotePort} from {peer.LocalPort}";
            }
            case 1:
                AcceptAll();
                return "accept";
            case 2 when _udp is not null:
            {
                if (s.Chance(50))
                {
                    SocketError error = _udp.SendTo(Payload(s.Between(0, 3000)), s.Chance(50) ? PeerA : IPv4Address.Broadcast, (ushort)s.Between(1, 65535));
                    return $"udp sendto: {error}";
                }

                byte[] buffer = new byte[2048];
                int n = _udp.ReceiveFrom(buffer, out _, out _, out SocketError receiveError);
                return $"udp recvfrom: {n} {receiveError}";
            }
            default:
                if (_listener is not null && s.Chance(20))
                {
                    _listener.Close();
                    _listener = null;
                    return "close listener";
                }

                if (_listener is null)
                {
                    var listener = new NetSocket(Stack, SocketType.Stream) { Blocking = false, ReuseAddress = true };
                    SocketError error = listener.Bind(IPv4Address.Any, ListenPort);
                    if (error == SocketError.Success)
                    {
                        listener.Listen(s.Between(1, 16), out error);
                    }

                    if (error != SocketError.Success)
                    {
                        listener.Close();
                        return $"listen: {error}";
                    }

                    _listener = listener;
                    return "listen again";
                }

                AcceptAll();
                return "accept";
        }
    }

    private void Close(NetSocket socket)
    {
        NoteReleased(socket);
        socket.Close();
        _sockets.Remove(socket);
        foreach (FuzzPeer peer in _peers)
        {
            if (peer.Socket == socket)
            {
                peer.Socket = null;
            }
        }
    }

    // ---- time -----------------------------------------------------------------------------------------------------

    private string TimeStep(FuzzSource s)
    {
        TimeSpan step = s.Next(100) switch
        {
            < 35 => TimeSpan.FromMicroseconds(s.Between(1, 999)),
            < 75 => TimeSpan.FromMilliseconds(s.Between(1, 999)),
            < 93 => TimeSpan.FromSeconds(s.Between(1, 30)),
            < 98 => TimeSpan.FromSeconds(s.Between(30, 300)),
            _ => TimeSpan.FromMinutes(s.Between(5, 20)),
        };
        Harness.Advance(step);
        return $"advance {step.TotalSeconds:0.######} s";
    }

    // ---- the end --------------------------------------------------------------------------------------------------

    /// <summary>Closes every socket and runs time on until everything has ended, checking as it goes.</summary>
    public void CloseEverything(Action check)
    {
        foreach (NetSocket socket in _sockets.ToList())
        {
            Close(socket);
            check();
        }

        _listener?.Close();
        _listener = null;
        _udp?.Close();
        _udp = null;
        check();
        for (int i = 0; i < 4 * 60; i++)
        {
            Harness.Advance(TimeSpan.FromMinutes(1));
            Learn();
            check();
        }
    }
}
