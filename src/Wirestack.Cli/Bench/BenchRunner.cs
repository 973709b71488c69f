using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Wirestack.Cli.Bench;

/// <summary>
/// One run of <c>wirestack bench</c>: every measurement on Wirestack's side and on each baseline's, side by side,
/// in one process run. Progress goes to <see cref="_progress"/> (stderr) as it goes.
/// </summary>
internal sealed class BenchRunner
{
    /// <summary>The measurement groups, in the order the report shows them (<c>--only</c> names).</summary>
    public static readonly string[] Groups = ["bulk", "bulk16", "rate", "latency", "memory", "simulated", "limits"];

    private static readonly int[] s_mtus = [1500, 65535];

    private readonly BenchSettings _settings;
    private readonly HashSet<string> _only;
    private readonly TextWriter _progress;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Dictionary<string, List<BenchRow>> _rows = [];
    private readonly BenchReport _report;

    public BenchRunner(BenchSettings settings, IEnumerable<string> only, TextWriter progress)
    {
        _settings = settings;
        _only = [.. only];
        _progress = progress;
        _report = new BenchReport { Machine = MachineInfo.Current(), Mode = settings.Mode };
    }

    private bool Wants(string group) => _only.Count == 0 || _only.Contains(group);

    private void Say(string text) => _progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench [{_clock.Elapsed.TotalSeconds,5:0.0} s] {text}"));

    public BenchReport Run()
    {
        Say($"{_settings.Mode} run on {_report.Machine}");
        LwipAnchor? lwip = null;
        string? lwipMissing = "lwIP anchor skipped (smoke mode)";
        if (_settings.External && (Wants("bulk")))
        {
            lwip = LwipAnchor.Prepare(Say, out lwipMissing);
            _report.Notes.Add(lwip is null ? lwipMissing! : $"lwIP anchor {lwip.Directory}: {lwip.Note}");
        }

        if (_settings.External && ExternalProcess.Self() is null)
        {
            _report.Notes.Add("System.Net.Sockets baselines ran in this process: it could not start itself as a subprocess");
        }

        foreach (int mtu in s_mtus)
        {
            using KernelLoopback loopback = KernelLoopback.Create(mtu, _settings.External);
            if (mtu == s_mtus[0])
            {
                if (!loopback.InNamespace)
                {
                    _report.Notes.Add($"kernel baselines: {loopback.Description}");
                }

                if (Wants("memory"))
                {
                    Memory(loopback);
                }

                if (Wants("rate"))
                {
                    Rate(loopback);
                }

                if (Wants("latency"))
                {
                    Latency(loopback);
                }
            }

            if (Wants("bulk"))
            {
                Bulk(mtu, 1, loopback, lwip, lwipMissing);
            }

            if (Wants("bulk16"))
            {
                Bulk(mtu, 16, loopback, null, null);
            }
        }

        if (Wants("simulated"))
        {
            Simulated();
        }

        if (Wants("limits"))
        {
            LimitFigures();
        }

        foreach (string group in Groups)
        {
            if (_rows.TryGetValue(group, out List<BenchRow>? rows))
            {
                _report.Rows.AddRange(rows);
            }
        }

        _report.Notes.Add($"load average at the start {_report.Machine.LoadAverage}, at the end {MachineInfo.CurrentLoadAverage()} (1, 5, 15 min; {_report.Machine.Cores} cores)");
        Say("done");
        return _report;
    }

    private void Add(string group, string name, string unit, double? wirestack, string baseline, double? baselineValue, string conditions,
        bool higherIsBetter = true, string baselineConditions = "")
    {
        if (!_rows.TryGetValue(group, out List<BenchRow>? rows))
        {
            _rows[group] = rows = [];
        }

        rows.Add(new BenchRow(name, unit, wirestack, baseline, baselineValue, conditions, baselineConditions, higherIsBetter));
        string ratio = wirestack is { } w && baselineValue is { } b && b != 0 ? string.Create(CultureInfo.InvariantCulture, $" = {w / b:0.###}×") : "";
        Say(string.Create(CultureInfo.InvariantCulture, $"{name}: Wirestack {wirestack:0.###} {unit} vs {baseline} {baselineValue:0.###}{ratio}"));
    }

    // ---- bulk ---------------------------------------------------------------------------------------------------

    private void Bulk(int mtu, int connections, KernelLoopback loopback, LwipAnchor? lwip, string? lwipMissing)
    {
        string group = connections == 1 ? "bulk" : "bulk16";
        string name = string.Create(CultureInfo.InvariantCulture, $"bulk, {connections} connection{(connections == 1 ? "" : "s")}, MTU {mtu}");
        int buffer = WirestackBenchmarks.BulkBufferFor(connections);
        Say($"{name}: Wirestack ...");
        BulkFigure ws = Median(() => WirestackBenchmarks.Bulk(mtu, connections, _settings.Warmup, _settings.BulkTime, buffer), f => f.Gbps);
        string timing = string.Create(CultureInfo.InvariantCulture,
            $"{_settings.BulkTime.TotalSeconds:0.#} s after a {_settings.Warmup.TotalSeconds:0.#} s warm-up{(_settings.Repeats > 1 ? $", median of {_settings.Repeats}" : "")}");
        string wsConditions = string.Create(CultureInfo.InvariantCulture,
            $"Wirestack: two stacks driven by one thread over an in-memory wire (packets handed over, not copied), MTU {mtu} (MSS {ws.Mss}), {buffer >> 10} KiB socket buffers, 64 KiB writes and reads, {timing}; " +
            $"{ws.Segments / ws.Seconds / 1e3:0} k data segments/s, {ws.CpuSeconds / ws.Seconds:0.00} CPUs busy, {(double)ws.AllocatedBytes / Math.Max(1, ws.Segments):0} B allocated per segment, " +
            $"{ws.Gen0Collections} gen0 GCs, {ws.Retransmits} retransmitted, {ws.RxMissed} rx ring drops{Jit(ws.JitSettled)}");
        var baselines = new List<(string Label, BulkFigure? Figure, string Conditions)>();

        Say($"{name}: System.Net.Sockets ...");
        string secs = _settings.BulkTime.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        string warm = _settings.Warmup.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        BulkFigure sns = Median(() => BulkFigure.FromJson(loopback.RunBaseline(
            ["bulk", "--connections", connections.ToString(CultureInfo.InvariantCulture), "--seconds", secs, "--warmup", warm],
            TimeSpan.FromSeconds(60) + 2 * _settings.BulkTime,
            () => KernelBaseline.Bulk(connections, _settings.Warmup, _settings.BulkTime).ToJson())), f => f.Gbps);
        baselines.Add(($"System.Net.Sockets, kernel {loopback.Description}", sns, string.Create(CultureInfo.InvariantCulture,
            $"System.Net.Sockets: blocking, a thread per sending and per receiving socket, 64 KiB writes and reads, default kernel buffers, {timing}, {sns.CpuSeconds / sns.Seconds:0.00} CPUs busy")));

        if (_settings.External)
        {
            Say($"{name}: iperf3 ...");
            BulkFigure? iperf = Iperf3.Run(loopback, connections, _settings.BulkTime, _settings.Warmup, out string? iperfMissing);
            baselines.Add((iperf is null ? iperfMissing! : $"iperf3 -P {connections}, kernel {loopback.Description}", iperf, string.Create(CultureInfo.InvariantCulture,
                $"iperf3 -c 127.0.0.1 -P {connections} -t {Math.Max(1, Math.Ceiling(_settings.BulkTime.TotalSeconds))} -O {Math.Ceiling(_settings.Warmup.TotalSeconds)}, the receiver's figure{(iperf is null ? "" : $", {iperf.CpuSeconds / iperf.Seconds:0.00} CPUs busy (its cpu_utilization_percent, both ends)")}")));
        }

        if (connections == 1)
        {
            foreach ((string variant, int variantMtu, string description) in LwipAnchor.Variants)
            {
                if (variantMtu != mtu)
                {
                    continue;
                }

                if (lwip is null)
                {
                    if (_settings.External && variant.EndsWith("fastcsum", StringComparison.Ordinal))
                    {
                        baselines.Add(("lwIP: " + lwipMissing, null, "lwIP anchor missing"));
                    }

                    continue;
                }

                Say($"{name}: lwIP {variant} ...");
                BulkFigure? figure = lwip.Run(variant, _settings.LwipMegabytes, _settings.Repeats, out string? missing);
                baselines.Add((figure is null ? "lwIP: " + missing : description, figure, string.Create(CultureInfo.InvariantCulture,
                    $"lwIP: NO_SYS raw API, one thread, its loopback netif, {_settings.LwipMegabytes} MiB copied out by the receiver{(_settings.Repeats > 1 ? $", median of {_settings.Repeats}" : "")}")));
            }
        }

        foreach ((string label, BulkFigure? figure, string conditions) in baselines)
        {
            Add(group, name, "Gbit/s", ws.Gbps, label, figure?.Gbps, wsConditions, baselineConditions: conditions);
        }

        // The same per CPU-second: robust to other load on the machine, and fair between one thread and many.
        foreach ((string label, BulkFigure? figure, string conditions) in baselines)
        {
            double? perCpu = figure is { CpuSeconds: > 0 } f ? f.Gbps * f.Seconds / f.CpuSeconds : null;
            Add(group, name + ", per CPU-second", "Gbit/CPU-s", ws.Gbps * ws.Seconds / ws.CpuSeconds, label, perCpu,
                "payload bits ÷ CPU time (user + system) of the process(es) doing the work during the measurement. " + wsConditions, baselineConditions: conditions);
        }
    }

    /// <summary>A warning for the conditions when the JIT was still tiering up as the measurement began.</summary>
    private static string Jit(bool settled) => settled ? "" : "; WARNING: the JIT was still compiling when the measurement began (loaded machine?)";

    private T Median<T>(Func<T> measure, Func<T, double> key)
    {
        var figures = new List<T>();
        for (int i = 0; i < _settings.Repeats; i++)
        {
            figures.Add(measure());
        }

        return MedianOf(figures, key);
    }

    /// <summary>The figure whose <paramref name="key"/> is the median (the upper one of an even count).</summary>
    private static T MedianOf<T>(List<T> figures, Func<T, double> key) => figures.OrderBy(key).ElementAt(figures.Count / 2);

    /// <summary>Measures each side <see cref="BenchSettings.Repeats"/> times, the sides alternating, so that a slow
    /// spell of the machine (they last seconds here) falls on both sides alike instead of on whichever ran during
    /// it.</summary>
    private (List<TW> Wirestack, List<TK> Kernel) Alternating<TW, TK>(string name, Func<TW> wirestack, Func<TK> kernel)
    {
        var ws = new List<TW>(_settings.Repeats);
        var sns = new List<TK>(_settings.Repeats);
        for (int i = 0; i < _settings.Repeats; i++)
        {
            Say($"{name}: Wirestack{RunLabel(i)} ...");
            ws.Add(wirestack());
            Say($"{name}: System.Net.Sockets{RunLabel(i)} ...");
            sns.Add(kernel());
        }

        return (ws, sns);
    }

    private string RunLabel(int i) => _settings.Repeats > 1 ? string.Create(CultureInfo.InvariantCulture, $" (run {i + 1} of {_settings.Repeats})") : "";

    // ---- connections ------------------------------------------------------------------------------------------

    private void Rate(KernelLoopback loopback)
    {
        const string Name = "connection rate (connect, 1-byte exchange, close)";
        string secs = _settings.RateTime.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        string warm = _settings.Warmup.TotalSeconds.ToString(CultureInfo.InvariantCulture);

        // Each side's median of alternating runs (Alternating): a slow spell of the machine weighs on both sides alike.
        (List<RateFigure> wsRuns, List<RateFigure> snsRuns) = Alternating(Name,
            () => WirestackBenchmarks.ConnectionRate(_settings.Warmup, _settings.RateTime),
            () => RateFigure.FromJson(loopback.RunBaseline(["rate", "--seconds", secs, "--warmup", warm], TimeSpan.FromSeconds(60) + 2 * _settings.RateTime,
                () => KernelBaseline.ConnectionRate(_settings.Warmup, _settings.RateTime).ToJson())));

        RateFigure ws = MedianOf(wsRuns, f => f.PerSecond);
        RateFigure sns = MedianOf(snsRuns, f => f.PerSecond);
        string runs = _settings.Repeats > 1
            ? string.Create(CultureInfo.InvariantCulture,
                $"median of {_settings.Repeats} runs a side, the sides alternating (conn/s in run order: Wirestack {string.Join(", ", wsRuns.Select(f => f.PerSecond.ToString("0", CultureInfo.InvariantCulture)))}; System.Net.Sockets {string.Join(", ", snsRuns.Select(f => f.PerSecond.ToString("0", CultureInfo.InvariantCulture)))}); ")
            : "";
        string conditions =
            $"one connection at a time: connect, accept, client sends 1 byte, server answers 1 byte and closes first, client reads the end and closes; " +
            $"{_settings.RateTime.TotalSeconds:0.#} s after a {_settings.Warmup.TotalSeconds:0.#} s warm-up, {runs}Wirestack: one thread, client ports round-robin " +
            $"(TIME-WAIT on the server, recycled by newer SYNs: {ws.TimeWaitRecycled} recycled, {ws.Retransmits} retransmits), " +
            $"{(double)ws.AllocatedBytes / Math.Max(1, ws.Count):0} B allocated per connection, {ws.CpuSeconds / ws.Seconds:0.00} CPUs busy{Jit(ws.JitSettled)}. " +
            $"System.Net.Sockets: a client thread and an accepting server thread, {sns.CpuSeconds / sns.Seconds:0.00} CPUs busy";
        string baseline = $"System.Net.Sockets, kernel {loopback.Description}";
        Add("rate", Name, "conn/s", ws.PerSecond, baseline, sns.PerSecond, conditions);
        Add("rate", Name + ", per CPU-second", "conn/CPU-s", ws.Count / ws.CpuSeconds, baseline,
            sns.CpuSeconds > 0 ? sns.Count / sns.CpuSeconds : null, "connections ÷ CPU time (user + system) of the process doing them. " + conditions);
    }

    private void Latency(KernelLoopback loopback)
    {
        const string Name = "1-byte ping-pong round trip";
        // As the connection rate; the median and the p99 are each the median of the runs' (a slow spell of the machine
        // lifts one run's tail, not the figure).
        (List<LatencyFigure> wsRuns, List<LatencyFigure> snsRuns) = Alternating(Name,
            () => WirestackBenchmarks.PingPong(_settings.PingPongs, _settings.Warmup),
            () => LatencyFigure.FromJson(loopback.RunBaseline(
                ["latency", "--count", _settings.PingPongs.ToString(CultureInfo.InvariantCulture), "--warmup", _settings.Warmup.TotalSeconds.ToString(CultureInfo.InvariantCulture)],
                TimeSpan.FromMinutes(3), () => KernelBaseline.PingPong(_settings.PingPongs, _settings.Warmup).ToJson())));

        LatencyFigure ws = MedianOf(wsRuns, f => f.MedianUs) with { P99Us = MedianOf(wsRuns, f => f.P99Us).P99Us };
        LatencyFigure sns = MedianOf(snsRuns, f => f.MedianUs) with { P99Us = MedianOf(snsRuns, f => f.P99Us).P99Us };
        string runs = _settings.Repeats > 1
            ? string.Create(CultureInfo.InvariantCulture,
                $"median and p99 each the median of {_settings.Repeats} runs a side, the sides alternating (median / p99 µs in run order: Wirestack {string.Join(", ", wsRuns.Select(f => $"{f.MedianUs:0.00} / {f.P99Us:0.00}"))}; System.Net.Sockets {string.Join(", ", snsRuns.Select(f => $"{f.MedianUs:0.0} / {f.P99Us:0.0}"))}). ")
            : "";
        string conditions =
            $"{ws.Samples:N0} round trips after a {_settings.Warmup.TotalSeconds:0.#} s warm-up, TCP_NODELAY both ends, one connection; {runs}" +
            $"Wirestack: one thread sends, steps both stacks until the byte is read, answers, steps until read ({(double)ws.AllocatedBytes / ws.Samples:0} B allocated per round trip{Jit(ws.JitSettled)}). " +
            "System.Net.Sockets: blocking, client thread and echo thread";
        Add("latency", Name + ", median", "µs", ws.MedianUs, $"System.Net.Sockets, kernel {loopback.Description}", sns.MedianUs, conditions, higherIsBetter: false);
        Add("latency", Name + ", p99", "µs", ws.P99Us, $"System.Net.Sockets, kernel {loopback.Description}", sns.P99Us, conditions, higherIsBetter: false);
    }

    private void Memory(KernelLoopback loopback)
    {
        const string Name = "memory per idle connection endpoint";
        int n = _settings.IdleConnections;
        Say(string.Create(CultureInfo.InvariantCulture, $"{Name}: Wirestack, {n:N0} connections ..."));
        MemoryFigure ws = WirestackBenchmarks.IdleMemory(n, Say);
        WirestackBenchmarks.Settle();
        Say(string.Create(CultureInfo.InvariantCulture, $"{Name}: System.Net.Sockets, {n:N0} connections ..."));
        MemoryFigure sns = MemoryFigure.FromJson(loopback.RunBaseline(
            ["memory", "--connections", n.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromMinutes(5),
            () => KernelBaseline.IdleMemory(n).ToJson(), openFiles: 2 * n + 1024));
        string kernelCount = sns.Open == n
            ? string.Create(CultureInfo.InvariantCulture, $"System.Net.Sockets: {sns.Open:N0} connections too")
            : string.Create(CultureInfo.InvariantCulture, $"System.Net.Sockets: only {sns.Open:N0} connections ({sns.Limit})");
        string conditions = string.Create(CultureInfo.InvariantCulture,
            $"established, idle, both ends in one process: per endpoint = growth ÷ (2 × connections). Wirestack: {ws.Open:N0} connections " +
            $"({ws.Established:N0} endpoints established) between two stacks, client ports bound explicitly over {(ws.Open + 49_999) / 50_000} listener ports, " +
            $"opened in {ws.SetupSeconds:0.0} s; NetSocket + TcpConnection + table entries. {kernelCount}, opened in {sns.SetupSeconds:0.0} s " +
            $"in a subprocess; the kernel part is /proc/meminfo Slab growth (system-wide)");
        Add("memory", Name + ", managed heap", "B", ws.ManagedPerEndpoint, "System.Net.Sockets: Socket objects on the managed heap", sns.ManagedPerEndpoint,
            conditions, higherIsBetter: false);
        Add("memory", Name + ", total", "B", ws.RssPerEndpoint, "System.Net.Sockets: process RSS + kernel slab", sns.TotalPerEndpoint,
            conditions + string.Create(CultureInfo.InvariantCulture,
                $". Wirestack total = process VmRSS growth; System.Net.Sockets = VmRSS growth {sns.RssPerEndpoint:0} B + kernel slab {sns.KernelPerEndpoint:0} B"),
            higherIsBetter: false);
        if (ws.Open >= 1_000_000)
        {
            _report.Notes.Add(string.Create(CultureInfo.InvariantCulture, $"{ws.Open:N0} Wirestack connections were open at once in this process"));
        }
    }

    // ---- simulation and limits ----------------------------------------------------------------------------------

    private void Simulated()
    {
        string name = string.Create(CultureInfo.InvariantCulture, $"{_settings.SimulatedBytes / 1e9:0.###} GB over simulated 1 Gbit/s, 20 ms RTT");
        long warmup = Math.Min(_settings.SimulatedBytes, 100_000_000);
        SimulatedFigure figure = SimulatedRow(name, default, f =>
            $"Simulator (virtual time), LinkImpairments {{ RateBitsPerSecond = 1e9, Delay = 10 ms, QueueLimit 1 MiB }} each way, CUBIC, 8 MiB buffers, after {WirestackBenchmarks.SimulatedWarmupRuns} untimed warm-up transfers of {warmup / 1e9:0.###} GB; sender's buffers handed over (CopyPackets = false); {f.SimulatedSeconds / f.WallSeconds:0.0}× faster than real time; {f.Retransmits} retransmits");

        // The same packets on the wire (one per MSS), received as a 1 GbE NIC with its default interrupt moderation
        // (e1000e: 20,000 interrupts a second, 50 µs) and Linux's GRO hand them to the host: one poll per batch, one TCP
        // input and one ACK per merged run of segments.
        SimulatedRow(name + ", rx-usecs 50 and GRO on the receiving NICs", new SimulatedNics(RxCoalesce: TimeSpan.FromMicroseconds(50), Gro: true), f =>
            $"as the first row with SimulatedWire.RxCoalesce = 50 µs and GenericReceiveOffload (packets on the wire unchanged, one per MSS); {f.SimulatedSeconds / f.WallSeconds:0.0}× faster than real time; {f.Retransmits} retransmits; {f.Steps:N0} steps against {figure.Steps:N0}");

        // The same frames on the line again, now between NICs with Linux's default offloads: the sender hands over
        // large segments and its NIC cuts them into MSS frames (TSO), the receiving NIC moderates its interrupts and
        // GRO merges the frames of a poll. TCP defers as Linux's tcp_tso_should_defer does on a route with GSO: it waits
        // for the next ACK rather than send a few MSS per ACK, so its large segments are larger and fewer, and the
        // transfer is not the first row's (its simulated seconds are in the conditions). With deferral off the line
        // carries exactly what it carries without offload (a test shows it).
        SimulatedRow(name + ", TSO cut into MSS frames on the line, GRO and rx-usecs 50", new SimulatedNics(GsoMaxSize: 65535,
            RxCoalesce: TimeSpan.FromMicroseconds(50), Gro: true, Tso: true), f =>
            $"as the first row with SimulatedWire.GsoMaxSize = 65535 and HardwareSegmentation (TCP sends up to 64 KiB segments with Linux's TSO deferral, the line carries MSS frames), RxCoalesce = 50 µs and GenericReceiveOffload; {f.SimulatedSeconds / f.WallSeconds:0.0}× faster than real time; {f.Retransmits} retransmits; {f.Steps:N0} steps; simulated {f.SimulatedSeconds:0.00} s against {figure.SimulatedSeconds:0.00} s without offload");

        // The same transfer between NICs with segmentation offload (TSO/GRO): 64 KiB segments, serialised and queued
        // by their bytes. Fewer, larger events; the simulated transfer itself differs (bursts into the 1 MiB queue).
        SimulatedRow(name + ", 64 KiB segments carried whole on the line", new SimulatedNics(GsoMaxSize: 65535), f =>
            $"as the first row with SimulatedWire.GsoMaxSize = 65535 without HardwareSegmentation (64 KiB segments on the line, as over a loopback); {f.SimulatedSeconds / f.WallSeconds:0.0}× faster than real time; {f.Retransmits} retransmits; simulated {f.SimulatedSeconds:0.00} s against {figure.SimulatedSeconds:0.00} s without offload");
    }

    /// <summary>One simulated-transfer row: untimed warm-ups (as every other measurement has: the quick bench's
    /// tenth, 10 MB, ended before the JIT had tiered up, so its figure measured the JIT more than the simulator),
    /// then <see cref="BenchSettings.SimulatedRuns"/> timed transfers against their own simulated duration; the
    /// median is reported and every run's wall time is listed in the conditions. The transfers are identical in
    /// virtual time (same seed), so they differ only in how long the machine took.</summary>
    private SimulatedFigure SimulatedRow(string name, SimulatedNics nics, Func<SimulatedFigure, FormattableString> conditions)
    {
        Say($"{name} ...");
        using var path = new SimulatedPath(nics);
        WirestackBenchmarks.SimulatedWarmUp(_settings.SimulatedBytes, path);
        var runs = new List<SimulatedFigure>(_settings.SimulatedRuns);
        for (int i = 0; i < _settings.SimulatedRuns; i++)
        {
            runs.Add(WirestackBenchmarks.SimulatedGigabit(_settings.SimulatedBytes, path));
        }

        string walls = string.Join(", ", runs.Select(r => r.WallSeconds.ToString("0.000", CultureInfo.InvariantCulture)));
        runs.Sort((x, y) => x.WallSeconds.CompareTo(y.WallSeconds));
        SimulatedFigure figure = runs[(runs.Count - 1) / 2];
        string spread = runs.Count > 1 ? $"; median of {runs.Count} timed transfers (wall s in run order: {walls})" : "";
        Add("simulated", name, "s", figure.WallSeconds, "real time (the transfer's simulated duration)", figure.SimulatedSeconds,
            FormattableString.Invariant(conditions(figure)) + spread, higherIsBetter: false);
        return figure;
    }

    private void LimitFigures()
    {
        Say("memcpy and checksum bandwidth ...");
        double memcpyHot = Limits.MemcpyHot(_settings.LimitTime) / 1e9;
        double checksumHot = Limits.ChecksumHot(_settings.LimitTime) / 1e9;
        int large = _settings.LargeBufferBytes;
        double memcpyLarge = Limits.MemcpyLarge(large, _settings.LimitTime) / 1e9;
        double checksumLarge = Limits.ChecksumLarge(large, _settings.LimitTime) / 1e9;
        string size = large >= 1 << 20 ? $"{large >> 20} MiB" : $"{large >> 10} KiB";
        Add("limits", "Internet checksum, 64 KiB cache-hot", "GB/s", checksumHot, "memcpy (Span.CopyTo), 64 KiB cache-hot", memcpyHot,
            "InternetChecksum.Accumulate vs Span<byte>.CopyTo (Buffer.Memmove) over the same 64 KiB again and again; bytes per second (10^9)");
        Add("limits", $"Internet checksum, {size} from memory", "GB/s", checksumLarge, $"memcpy (Span.CopyTo), {size} from memory", memcpyLarge,
            $"the same over a {size} buffer{(large >= 64 << 20 ? " (far past the caches)" : "")}; memcpy counts bytes copied (read + write)");
        GC.Collect();
    }

    /// <summary>Runs one baseline measurement in this process and returns its JSON (the <c>bench-baseline</c> command).</summary>
    public static JsonNode Baseline(string kind, int connections, TimeSpan seconds, TimeSpan warmup, int count) => kind switch
    {
        "bulk" => KernelBaseline.Bulk(connections, warmup, seconds).ToJson(),
        "rate" => KernelBaseline.ConnectionRate(warmup, seconds).ToJson(),
        "latency" => KernelBaseline.PingPong(count, warmup).ToJson(),
        "memory" => KernelBaseline.IdleMemory(connections).ToJson(),
        _ => throw new CommandFailedException($"unknown baseline '{kind}' (bulk, rate, latency, memory)"),
    };
}
