using System.Buffers.Binary;
using Wirestack.Wire;

namespace Wirestack.Conformance;

/// <summary>Packet lines: the connection model, sequence mapping, injection and the field-by-field comparison (spec §4-§6).</summary>
internal sealed partial class ScriptRun
{
    /// <summary>One TCP connection as the script sees it. The remote side's numbers are the script's verbatim; the
    /// stack's are relative to the ISN of its first SYN or SYN-ACK (spec §5).</summary>
    private sealed class Flow
    {
        public ushort LocalPort;     // 0 until the stack's SYN shows it (active open)
        public ushort RemotePort;
        public bool Explicit;
        public uint? LiveLocalIsn;
        public bool ActiveOpen;      // the stack sent a SYN (not a SYN-ACK) on this flow
        public uint ScriptLocalIsn;

        /// <summary>live = script + offset for the stack's sequence space.</summary>
        public uint LocalOffset => LiveLocalIsn is { } live ? unchecked(live - ScriptLocalIsn) : 0;

        public override string ToString() => $"local port {LocalPort}, remote port {RemotePort}";
    }

    private sealed class Sniffed(WirePacket? packet, byte[] bytes, long timeUs)
    {
        public WirePacket? Packet { get; } = packet;

        public byte[] Bytes { get; } = bytes;

        public long TimeUs { get; } = timeUs;

        public bool Used { get; set; }
    }

    private readonly List<Flow> _flows = [];
    private readonly List<Sniffed> _sniffed = [];
    private Flow? _implicitFlow;
    private ushort _nextRemotePort = 48271;

    // timestamps (spec §5): script TS val -> live TS val of the packets the stack sent
    private readonly Dictionary<uint, uint> _tsValues = [];
    private uint? _firstScriptTs;
    private uint _firstLiveTs;

    private void DrainSent()
    {
        foreach ((Time.Instant time, byte[] bytes) in _host.TakeSent())
        {
            long t = time.Microseconds - _startUs;
            var sniffed = new Sniffed(WirePacket.TryParse(bytes, t), bytes, t);
            _sniffed.Add(sniffed);
            _trace?.WriteLine($"{Seconds(t)} stack sent {PacketFormatter.Format(bytes)}");
        }
    }

    /// <summary>A new active open: its flow is bound by the stack's first SYN (spec §5).</summary>
    private void BeginActiveFlow()
    {
        _implicitFlow = new Flow { RemotePort = _connectPort };
        _flows.Add(_implicitFlow);
    }

    private Flow FlowForInbound(PacketEvent p)
    {
        if (p.Ports is (ushort sport, ushort dport))
        {
            return ExplicitFlow(localPort: dport, remotePort: sport);
        }

        if (_implicitFlow is null)
        {
            // Passive open: the first inbound packet makes the connection under test, from a fresh remote port.
            _implicitFlow = new Flow { LocalPort = _bindPort, RemotePort = _nextRemotePort++ };
            _flows.Add(_implicitFlow);
        }

        if (_implicitFlow.LocalPort == 0)
        {
            DrainSent();
            Sniffed? syn = _sniffed.FirstOrDefault(s => s.Packet is { } w && w.Destination == _remoteIp &&
                w.DestinationPort == _implicitFlow.RemotePort && w.Has(TcpFlags.Syn) && !w.Has(TcpFlags.Ack));
            if (syn is null)
            {
                throw Fail(p, "inbound packet for an active open before the stack sent its SYN (no local port to send it to)");
            }

            _implicitFlow.LocalPort = syn.Packet!.SourcePort;
        }

        return _implicitFlow;
    }

    private Flow ExplicitFlow(ushort localPort, ushort remotePort)
    {
        Flow? flow = _flows.FirstOrDefault(f => f.Explicit && f.LocalPort == localPort && f.RemotePort == remotePort);
        if (flow is null)
        {
            flow = new Flow { LocalPort = localPort, RemotePort = remotePort, Explicit = true };
            _flows.Add(flow);
        }

        return flow;
    }

    private bool BelongsTo(WirePacket w, Flow flow) =>
        w.Source == _localIp && w.Destination == _remoteIp && w.DestinationPort == flow.RemotePort &&
        (flow.LocalPort == 0 ? w.Has(TcpFlags.Syn) && !w.Has(TcpFlags.Ack) : w.SourcePort == flow.LocalPort);

    // ---- inbound -------------------------------------------------------------------------------------------------------

    private bool RunInbound(PacketEvent p)
    {
        long scheduled = Scheduled(p, inbound: true);
        if (!AdvanceTo(scheduled))
        {
            return false;
        }

        Flow flow = FlowForInbound(p);
        byte flags = WirePacket.FlagsFromScript(p.Flags);
        bool isSyn = (flags & (byte)TcpFlags.Syn) != 0;
        uint ack = p.Ack is { } a ? ((flags & (byte)TcpFlags.Ack) != 0 ? unchecked(a + flow.LocalOffset) : a) : 0;
        byte[] options = InboundOptions(p, flow);
        byte[] datagram = WirePacket.Build(_remoteIp, _localIp, flow.RemotePort, flow.LocalPort, p.Start, ack, flags,
            p.Window!.Value, p.Urgent, options, p.Length);
        Trace($"inject  {PacketFormatter.Format(datagram)}   [{Where(p)}{(isSyn ? ", SYN" : "")}]");
        _host.Inject(datagram, _inboundGsoSize > 0 && p.Length > _inboundGsoSize ? _inboundGsoSize : 0);
        DrainSent();
        Finished(scheduled, inbound: true, scheduled);
        return true;
    }

    private byte[] InboundOptions(PacketEvent p, Flow flow)
    {
        if (p.Options is null)
        {
            return [];
        }

        var bytes = new List<byte>();
        foreach (TcpOptionSpec o in p.Options)
        {
            switch (o.Kind)
            {
                case "nop":
                    bytes.Add(TcpOptions.KindNop);
                    break;
                case "eol":
                    bytes.Add(TcpOptions.KindEnd);
                    break;
                case "sackOK":
                    bytes.AddRange([TcpOptions.KindSackPermitted, 2]);
                    break;
                case "mss":
                    bytes.AddRange([TcpOptions.KindMss, 4, (byte)(o.Values[0] >> 8), (byte)o.Values[0]]);
                    break;
                case "wscale":
                    bytes.AddRange([TcpOptions.KindWindowScale, 3, (byte)o.Values[0]]);
                    break;
                case "sack":
                {
                    bytes.AddRange([TcpOptions.KindSack, (byte)(2 + 4 * o.Values.Length)]);
                    Span<byte> word = stackalloc byte[4];
                    foreach (long edge in o.Values)
                    {
                        // SACK blocks cover the stack's data: mapped like an inbound ACK
                        BinaryPrimitives.WriteUInt32BigEndian(word, unchecked((uint)edge + flow.LocalOffset));
                        bytes.AddRange(word.ToArray());
                    }

                    break;
                }

                case "TS":
                {
                    uint val = (uint)o.Values[0];
                    uint scriptEcr = (uint)o.Values[1];
                    uint ecr = 0;
                    if (scriptEcr != 0 && !_tsValues.TryGetValue(scriptEcr, out ecr))
                    {
                        throw Fail(p, $"TS ecr {scriptEcr} echoes no TS val of an earlier outbound packet of the script");
                    }

                    Span<byte> ts = stackalloc byte[10];
                    ts[0] = TcpOptions.KindTimestamp;
                    ts[1] = 10;
                    BinaryPrimitives.WriteUInt32BigEndian(ts[2..], val);
                    BinaryPrimitives.WriteUInt32BigEndian(ts[6..], ecr);
                    bytes.AddRange(ts.ToArray());
                    break;
                }
            }
        }

        if (bytes.Count % 4 != 0 || bytes.Count > TcpOptions.MaxLength)
        {
            throw new ScriptSkipException($"TCP options of {bytes.Count} bytes (not a multiple of 4 or over 40) at {Where(p)}");
        }

        return [.. bytes];
    }

    // ---- outbound ------------------------------------------------------------------------------------------------------

    private bool RunOutbound(PacketEvent p)
    {
        long previous = BaseFor(false);
        long? earliest = null, latest = null;
        if (p.Time.Kind != TimeKind.Any)
        {
            earliest = Scheduled(p, false);
            latest = p.Time.RangeEnd is { } end ? Resolve(end, p.Time.RangeEndRelative, false) : earliest;
        }

        long tolerance = latest is { } l ? Tolerance(l, previous) : 0;
        long waitLimit = latest is { } last ? last + tolerance + TwoSeconds : _options.VirtualTimeLimit.Ticks / 10;
        if (_implicitFlow is null && p.Ports is null)
        {
            throw Fail(p, "outbound packet expected, but the script has no connection yet (no inbound packet, no connect)");
        }

        Flow flow = p.Ports is (ushort sport, ushort dport) ? ExplicitFlow(localPort: sport, remotePort: dport) : _implicitFlow!;
        List<Sniffed> fragments;
        while (true)
        {
            DrainSent();
            bool complete = TryCollect(p, flow, out fragments);
            if (complete)
            {
                break;
            }

            if (NowUs >= waitLimit)
            {
                if (fragments.Count > 0)
                {
                    break; // compare what came: the length difference will be reported
                }

                throw Fail(p, $"timed out waiting for '{p.Source}': nothing sent on the connection ({flow}) by " +
                              $"{Seconds(NowUs)} s{(latest is { } x ? $" (expected at {Seconds(x)} s)" : "")}");
            }

            if (p.Time.Kind == TimeKind.Any && StackIdle())
            {
                if (fragments.Count > 0)
                {
                    break;
                }

                throw Fail(p, $"timed out waiting for '{p.Source}': the stack is idle at {Seconds(NowUs)} s and sent nothing on the connection");
            }

            if (!StepTime(waitLimit, out _))
            {
                return false; // a blocked call can return first; this line is matched afterwards
            }
        }

        Compare(p, flow, fragments);
        foreach (Sniffed f in fragments)
        {
            f.Used = true;
        }

        long sentAt = fragments[^1].TimeUs;
        if (earliest is { } lo && latest is { } hi && (sentAt < lo - tolerance || sentAt > hi + tolerance))
        {
            string expected = lo == hi ? $"{Seconds(lo)} s" : $"{Seconds(lo)}~{Seconds(hi)} s";
            throw Fail(p, $"timing: '{p.Source}' expected at {expected} (tolerance {tolerance} us), the stack sent it at " +
                          $"{Seconds(sentAt)} s: {PacketFormatter.Format(fragments[^1].Bytes)}");
        }

        Trace($"matched {Where(p)}: {p.Source}");
        Finished(sentAt, false);
        return true;
    }

    /// <summary>Finds the next packet of the flow and, when the line's length asks for more (TSO on Linux, spec §6.2),
    /// the following segments that continue it. True when the line's length is reached or cannot grow further.</summary>
    private bool TryCollect(PacketEvent p, Flow flow, out List<Sniffed> fragments)
    {
        fragments = [];
        int total = 0;
        foreach (Sniffed s in _sniffed)
        {
            if (s.Used || s.Packet is not { } w || !BelongsTo(w, flow))
            {
                continue;
            }

            if (fragments.Count == 0)
            {
                fragments.Add(s);
                total = w.PayloadLength;
                if (_strictSegments || total >= p.Length || w.PayloadLength == 0 || w.Has(TcpFlags.Fin) || w.Has(TcpFlags.Syn) || w.Has(TcpFlags.Rst))
                {
                    return true;
                }

                continue;
            }

            WirePacket last = fragments[^1].Packet!;
            const byte ignored = (byte)(TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr);
            bool continues = w.PayloadLength > 0 && w.Seq == unchecked(last.Seq + (uint)last.PayloadLength) && w.Ack == last.Ack &&
                             (w.Flags & ~ignored) == (last.Flags & ~ignored) && !last.Has(TcpFlags.Fin) && !last.Has(TcpFlags.Psh) &&
                             last.PayloadLength == fragments[0].Packet!.PayloadLength;
            if (!continues)
            {
                return true; // something else came next: compare the aggregate as it is
            }

            fragments.Add(s);
            total += w.PayloadLength;
            if (total >= p.Length)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Spec §6.4: every field, in script terms; the first difference fails the script.</summary>
    private void Compare(PacketEvent p, Flow flow, List<Sniffed> fragments)
    {
        WirePacket first = fragments[0].Packet!;
        WirePacket last = fragments[^1].Packet!;
        byte actualFlags = (byte)((last.Flags & ~(byte)TcpFlags.Cwr) | (first.Flags & (byte)TcpFlags.Cwr));
        int length = fragments.Sum(f => f.Packet!.PayloadLength);
        bool ackFlag = (actualFlags & (byte)TcpFlags.Ack) != 0;

        if (flow.LocalPort == 0)
        {
            flow.LocalPort = first.SourcePort; // the stack's SYN binds an active open
        }

        if (first.Has(TcpFlags.Syn) && p.Flags.Contains('S'))
        {
            flow.ActiveOpen = !first.Has(TcpFlags.Ack);
            flow.LiveLocalIsn = first.Seq;
            flow.ScriptLocalIsn = p.Start;
        }

        uint seq = unchecked(first.Seq - flow.LocalOffset);
        string actualText = $"{WirePacket.FlagText(actualFlags)} {seq}:{unchecked(seq + (uint)length)}({length})" +
                            (ackFlag || last.Ack != 0 ? $" ack {last.Ack}" : "") + $" win {last.Window}" +
                            (last.Options.Length > 0 ? " " + OptionTextOf(last) : "");

        void Mismatch(string what, string expected, string actual) =>
            throw Fail(p, $"{what}: expected {expected}, actual {actual} (script '{p.Source}'; stack sent '{actualText}' at " +
                          $"{Seconds(last.TimeUs)} s: {string.Join(" + ", fragments.Select(f => PacketFormatter.Format(f.Bytes)))})");

        if (!first.IpChecksumValid)
        {
            Mismatch("IPv4 header checksum", "valid", "invalid");
        }

        byte expectedFlags = WirePacket.FlagsFromScript(p.Flags);
        if (actualFlags != expectedFlags || last.Reserved != 0)
        {
            Mismatch("flags", WirePacket.FlagText(expectedFlags), WirePacket.FlagText(actualFlags) + (last.Reserved != 0 ? $" (reserved bits {last.Reserved})" : ""));
        }

        if (seq != p.Start)
        {
            Mismatch("sequence number", p.Start.ToString(), seq.ToString());
        }

        if (length != p.Length)
        {
            Mismatch("payload length", p.Length.ToString(), length.ToString());
        }

        uint expectedAck = p.Ack ?? 0;
        if (last.Ack != expectedAck)
        {
            Mismatch(ackFlag ? "ack" : "ack field (no ACK flag)", expectedAck.ToString(), last.Ack.ToString());
        }

        if (p.Window is { } win && last.Window != win)
        {
            Mismatch("window", win.ToString(), last.Window.ToString());
        }

        if (last.Urgent != p.Urgent)
        {
            Mismatch("urgent pointer", p.Urgent.ToString(), last.Urgent.ToString());
        }

        if (!p.AnyOptions)
        {
            CompareOptions(p, last, Mismatch);
        }
        else
        {
            RecordTimestamps(p, last);
        }

        foreach (Sniffed f in fragments)
        {
            if (f.Packet!.Payload.ContainsAnyExcept((byte)0))
            {
                Mismatch("payload", "zero bytes (what write() sent)", "non-zero bytes");
            }
        }
    }

    private static string OptionTextOf(WirePacket w) => w.ParseOptions() is { } list ? WirePacket.OptionText(list) : $"<malformed {Convert.ToHexString(w.Options)}>";

    private void CompareOptions(PacketEvent p, WirePacket w, Action<string, string, string> mismatch)
    {
        string expectedText = "<" + string.Join(',', p.Options ?? []) + ">";
        List<(byte Kind, byte[] Value)>? actual = w.ParseOptions();
        if (actual is null)
        {
            mismatch("TCP options", expectedText, $"malformed option bytes {Convert.ToHexString(w.Options)}");
            return;
        }

        List<TcpOptionSpec> expected = p.Options ?? [];
        string actualText = actual.Count == 0 ? "no options" : WirePacket.OptionText(actual);
        if (expected.Count == 0 && actual.Count == 0)
        {
            return;
        }

        if (expected.Count != actual.Count)
        {
            mismatch("TCP options", expected.Count == 0 ? "no options" : expectedText, actualText);
        }

        for (int i = 0; i < expected.Count; i++)
        {
            TcpOptionSpec e = expected[i];
            (byte kind, byte[] v) = actual[i];
            bool same = e.Kind switch
            {
                "nop" => kind == TcpOptions.KindNop,
                "eol" => kind == TcpOptions.KindEnd,
                "sackOK" => kind == TcpOptions.KindSackPermitted && v.Length == 0,
                "mss" => kind == TcpOptions.KindMss && v.Length == 2 && BinaryPrimitives.ReadUInt16BigEndian(v) == e.Values[0],
                "wscale" => kind == TcpOptions.KindWindowScale && v.Length == 1 && v[0] == e.Values[0],
                "sack" => kind == TcpOptions.KindSack && v.Length == 4 * e.Values.Length &&
                          Enumerable.Range(0, e.Values.Length).All(j => BinaryPrimitives.ReadUInt32BigEndian(v.AsSpan(4 * j)) == (uint)e.Values[j]),
                "TS" => kind == TcpOptions.KindTimestamp && v.Length == 8,
                _ => false,
            };
            if (!same)
            {
                mismatch($"TCP option {i + 1}", $"{e} in {expectedText}", actualText);
            }
        }

        RecordTimestamps(p, w);
        if (_tsTickUs > 0)
        {
            CheckTimestampValue(p, w, mismatch);
        }
    }

    /// <summary>Remembers the live TS val behind each script TS val, for inbound ecr values (spec §5).</summary>
    private void RecordTimestamps(PacketEvent p, WirePacket w)
    {
        TcpOptionSpec? ts = p.Options?.FirstOrDefault(o => o.Kind == "TS");
        uint? live = LiveTsVal(w);
        if (live is null)
        {
            return;
        }

        if (_firstScriptTs is null && ts is not null)
        {
            _firstScriptTs = (uint)ts.Values[0];
            _firstLiveTs = live.Value;
        }

        if (ts is not null)
        {
            _tsValues[(uint)ts.Values[0]] = live.Value;
        }
    }

    private static uint? LiveTsVal(WirePacket w)
    {
        (byte Kind, byte[] Value)? ts = w.ParseOptions()?.FirstOrDefault(o => o.Kind == TcpOptions.KindTimestamp && o.Value.Length == 8);
        return ts is { Value: { } v } && ts.Value.Kind == TcpOptions.KindTimestamp ? BinaryPrimitives.ReadUInt32BigEndian(v) : null;
    }

    /// <summary>--tcp_ts_tick_usecs: TS val, normalised to the script's first value, within the tolerance.</summary>
    private void CheckTimestampValue(PacketEvent p, WirePacket w, Action<string, string, string> mismatch)
    {
        TcpOptionSpec? ts = p.Options?.FirstOrDefault(o => o.Kind == "TS");
        if (ts is null || _firstScriptTs is null || LiveTsVal(w) is not { } live)
        {
            return;
        }

        uint normalised = unchecked(_firstScriptTs.Value + (live - _firstLiveTs));
        long delta = Math.Abs(unchecked((int)(normalised - (uint)ts.Values[0])));
        long tolerance = Tolerance(w.TimeUs, 0);
        if (delta * _tsTickUs > tolerance)
        {
            mismatch("TS val", $"{ts.Values[0]} (tick {_tsTickUs} us, tolerance {tolerance} us)", $"{normalised} (normalised)");
        }
    }
}
