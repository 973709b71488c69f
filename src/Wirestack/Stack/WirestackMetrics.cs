// The stack's counters through System.Diagnostics.Metrics, so that dotnet-counters, OpenTelemetry or any
// MeterListener sees them: `dotnet-counters monitor -n app --counters Wirestack`. Every counter of every group
// (Ip, Icmp, Udp, Tcp, TcpExt, each link device) is an ObservableCounter named in lowercase dotted form, observed
// for every registered host with the tag wirestack.host; the memory budget is a set of gauges. Values are read
// under each stack's lock when a listener collects, so nothing is added to the packet path.
using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text;
using Wirestack.Buffers;
using Wirestack.Diagnostics;
using Wirestack.Links;
using Wirestack.Tcp;

namespace Wirestack.Stack;

/// <summary>Publishes the counters of one or more stacks as .NET metrics (meter <see cref="MeterName"/>).</summary>
public sealed class WirestackMetrics : IDisposable
{
    /// <summary>The meter's name, as dotnet-counters and MeterListener select it.</summary>
    public const string MeterName = "Wirestack";

    /// <summary>The tag that names the host (the stack's <see cref="NetStack.Name"/>).</summary>
    public const string HostTag = "wirestack.host";

    /// <summary>The tag that names a link device (on <c>wirestack.link.*</c>).</summary>
    public const string DeviceTag = "wirestack.device";

    /// <summary>The tag that names a budget cause (on <c>wirestack.memory.failures</c>).</summary>
    public const string CauseTag = "wirestack.cause";

    /// <summary>The tag that names a TCP state (on <c>wirestack.tcp.connections</c>).</summary>
    public const string StateTag = "wirestack.state";

    /// <summary>The RFC 4022 (Linux <c>Tcp:</c>) counters, under names that say what they count.</summary>
    private static readonly Dictionary<string, string> s_tcpMibNames = new(StringComparer.Ordinal)
    {
        ["ActiveOpens"] = "wirestack.tcp.connections.opened.active",
        ["PassiveOpens"] = "wirestack.tcp.connections.opened.passive",
        ["AttemptFails"] = "wirestack.tcp.connections.failed",
        ["EstabResets"] = "wirestack.tcp.connections.reset",
        ["InSegs"] = "wirestack.tcp.segments.received",
        ["OutSegs"] = "wirestack.tcp.segments.sent",
        ["RetransSegs"] = "wirestack.tcp.segments.retransmitted",
        ["InErrs"] = "wirestack.tcp.segments.errors",
        ["InCsumErrors"] = "wirestack.tcp.segments.checksum_errors",
        ["OutRsts"] = "wirestack.tcp.resets.sent",
    };

    private readonly Meter _meter;
    private readonly List<NetStack> _hosts = [];
    private readonly object _gate = new();
    private readonly List<Instrument> _instruments = [];

    /// <param name="meterFactory">The host's meter factory (dependency injection); null creates the meter directly.</param>
    public WirestackMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        AddGroup("Ip", typeof(IPCounters), s => s.Counters.Ip);
        AddGroup("Icmp", typeof(IcmpCounters), s => s.Counters.Icmp);
        AddGroup("Udp", typeof(UdpCounters), s => s.Counters.Udp);
        AddTcp();
        AddLinks();
        AddBudget();
    }

    /// <summary>The meter every instrument belongs to.</summary>
    public Meter Meter => _meter;

    /// <summary>Every instrument published (for tools that list them).</summary>
    public IReadOnlyList<Instrument> Instruments => _instruments;

    /// <summary>Starts publishing <paramref name="stack"/>'s counters (tagged with its name).</summary>
    public void Add(NetStack stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        lock (_gate)
        {
            if (!_hosts.Contains(stack))
            {
                _hosts.Add(stack);
            }
        }
    }

    /// <summary>Stops publishing <paramref name="stack"/>'s counters.</summary>
    public void Remove(NetStack stack)
    {
        lock (_gate)
        {
            _hosts.Remove(stack);
        }
    }

    /// <summary>The metric name a counter is published under ("Tcp", "RetransSegs" → wirestack.tcp.segments.retransmitted;
    /// "TcpExt", "ListenOverflows" → wirestack.tcpext.listen_overflows; a link's "rx_missed_errors" →
    /// wirestack.link.rx_missed_errors).</summary>
    public static string MetricName(string group, string counter)
    {
        if (group == "Tcp" && s_tcpMibNames.TryGetValue(counter, out string? name))
        {
            return name;
        }

        if (group == "Tcp" && counter == "CurrEstab")
        {
            return "wirestack.tcp.connections.established";
        }

        string prefix = group.StartsWith("Link", StringComparison.Ordinal) ? "link" : group.ToLowerInvariant();
        return "wirestack." + prefix + "." + Snake(counter);
    }

    public void Dispose() => _meter.Dispose();

    private NetStack[] Hosts()
    {
        lock (_gate)
        {
            return [.. _hosts];
        }
    }

    private void AddGroup(string group, Type type, Func<NetStack, object> counters)
    {
        foreach (FieldInfo field in LongFields(type))
        {
            string metric = MetricName(group, field.Name);
            _instruments.Add(_meter.CreateObservableCounter(metric, () => Observe(s => (long)field.GetValue(counters(s))!),
                unit: "{count}", description: $"{group} {field.Name}"));
        }
    }

    private void AddTcp()
    {
        foreach (FieldInfo field in LongFields(typeof(TcpCounters)))
        {
            string group = s_tcpMibNames.ContainsKey(field.Name) || field.Name == "CurrEstab" ? "Tcp" : "TcpExt";
            string metric = MetricName(group, field.Name);
            if (field.Name == "CurrEstab")
            {
                // a level, not a running total
                _instruments.Add(_meter.CreateObservableUpDownCounter(metric, () => Observe(s => (long)field.GetValue(s.Counters.Tcp)!),
                    unit: "{connection}", description: "Tcp CurrEstab: connections in ESTABLISHED or CLOSE-WAIT now"));
                continue;
            }

            _instruments.Add(_meter.CreateObservableCounter(metric, () => Observe(s => (long)field.GetValue(s.Counters.Tcp)!),
                unit: "{count}", description: $"{group} {field.Name}"));
        }

        _instruments.Add(_meter.CreateObservableUpDownCounter("wirestack.tcp.connections", ObserveConnectionStates,
            unit: "{connection}", description: "TCP connections by state (as ss counts them)"));
    }

    private void AddLinks()
    {
        foreach (string key in new LinkCounters().Snapshot().Keys)
        {
            string metric = MetricName("Link", key);
            _instruments.Add(_meter.CreateObservableCounter(metric, () => ObserveLinks(key),
                unit: key.EndsWith("_bytes", StringComparison.Ordinal) ? "By" : "{packet}", description: $"link device {key} (ethtool -S)"));
        }
    }

    private void AddBudget()
    {
        _instruments.Add(_meter.CreateObservableGauge("wirestack.memory.in_use", () => Observe(s => s.Budget.InUse),
            unit: "By", description: "bytes of the stack's memory budget in use"));
        _instruments.Add(_meter.CreateObservableGauge("wirestack.memory.limit", () => Observe(s => s.Budget.Limit),
            unit: "By", description: "the stack's memory budget"));
        _instruments.Add(_meter.CreateObservableGauge("wirestack.memory.high_water", () => Observe(s => s.Budget.HighWater),
            unit: "By", description: "the most bytes of the budget ever in use"));
        _instruments.Add(_meter.CreateObservableCounter("wirestack.memory.failures", ObserveBudgetFailures,
            unit: "{failure}", description: "charges refused because the budget was spent (ENOBUFS), by cause"));
    }

    private IEnumerable<Measurement<long>> Observe(Func<NetStack, long> read)
    {
        foreach (NetStack host in Hosts())
        {
            long value;
            lock (host.SyncRoot)
            {
                value = read(host);
            }

            yield return new Measurement<long>(value, new KeyValuePair<string, object?>(HostTag, host.Name));
        }
    }

    private IEnumerable<Measurement<long>> ObserveLinks(string key)
    {
        foreach (NetStack host in Hosts())
        {
            List<(string Device, long Value)> values = [];
            lock (host.SyncRoot)
            {
                foreach (var iface in host.Interfaces)
                {
                    values.Add((iface.Name, iface.Device.Counters.Snapshot().GetValueOrDefault(key)));
                }
            }

            foreach ((string device, long value) in values)
            {
                yield return new Measurement<long>(value,
                    new KeyValuePair<string, object?>(HostTag, host.Name), new KeyValuePair<string, object?>(DeviceTag, device));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveBudgetFailures()
    {
        foreach (NetStack host in Hosts())
        {
            List<(BudgetCause Cause, long Value)> values = [];
            lock (host.SyncRoot)
            {
                foreach (BudgetCause cause in Enum.GetValues<BudgetCause>())
                {
                    values.Add((cause, host.Budget.FailuresFor(cause)));
                }
            }

            foreach ((BudgetCause cause, long value) in values)
            {
                yield return new Measurement<long>(value,
                    new KeyValuePair<string, object?>(HostTag, host.Name), new KeyValuePair<string, object?>(CauseTag, cause.ToString()));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveConnectionStates()
    {
        foreach (NetStack host in Hosts())
        {
            var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
            lock (host.SyncRoot)
            {
                foreach (TcpConnection connection in host.Tcp.Connections)
                {
                    string state = connection.State.SsName();
                    counts[state] = counts.GetValueOrDefault(state) + 1;
                }

                counts["LISTEN"] = host.Tcp.Listeners.LongCount();
            }

            foreach ((string state, long count) in counts)
            {
                yield return new Measurement<long>(count,
                    new KeyValuePair<string, object?>(HostTag, host.Name), new KeyValuePair<string, object?>(StateTag, state));
            }
        }
    }

    private static IEnumerable<FieldInfo> LongFields(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Instance).Where(f => f.FieldType == typeof(long));

    /// <summary>Linux CamelCase to snake case, acronyms kept whole: ListenOverflows → listen_overflows,
    /// TCPSynRetrans → tcp_syn_retrans, InCsumErrors → in_csum_errors; snake case stays as it is.</summary>
    public static string Snake(string name)
    {
        var text = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 && name[i - 1] != '_')
            {
                bool previousLower = char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]);
                bool acronymEnds = char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (previousLower || acronymEnds)
                {
                    text.Append('_');
                }
            }

            text.Append(char.ToLowerInvariant(c));
        }

        return text.ToString();
    }
}
