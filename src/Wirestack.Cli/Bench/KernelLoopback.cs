using System.Globalization;
using System.Text.Json.Nodes;

namespace Wirestack.Cli.Bench;

/// <summary>
/// Where a kernel baseline runs: as root, a network namespace of its own (<c>wsbench-PID-MTU</c>) whose only
/// interface, <c>lo</c>, has the MTU under test, deleted on <see cref="Dispose"/>; otherwise the default loopback
/// at whatever MTU it has (and <see cref="Description"/> says so). The System.Net.Sockets baseline runs as a
/// subprocess of this same program (<c>wirestack bench-baseline …</c>) inside it; iperf3 too.
/// </summary>
internal sealed class KernelLoopback : IDisposable
{
    private readonly string? _namespace;
    private readonly string[]? _self;

    private KernelLoopback(int mtu, string? ns, string[]? self, string description)
    {
        Mtu = mtu;
        _namespace = ns;
        _self = self;
        Description = description;
    }

    /// <summary>The MTU of the loopback the baseline uses (the one asked for in a namespace).</summary>
    public int Mtu { get; }

    /// <summary>"lo MTU 1500 in netns wsbench-…" or "default loopback, MTU 65536 (not root: no namespace)".</summary>
    public string Description { get; }

    public bool InNamespace => _namespace is not null;

    /// <summary>Sets up the loopback for <paramref name="mtu"/>: a namespace when root and <paramref name="external"/>,
    /// else the default loopback (reason given in <see cref="Description"/>).</summary>
    public static KernelLoopback Create(int mtu, bool external)
    {
        string[]? self = external ? ExternalProcess.Self() : null;
        int defaultMtu = DefaultLoopbackMtu();
        if (!external)
        {
            return new KernelLoopback(defaultMtu, null, null, $"in-process, default loopback MTU {defaultMtu} (smoke: no namespace)");
        }

        string? ip = ExternalProcess.Which("ip");
        string why;
        if (!ExternalProcess.IsRoot())
        {
            why = "not root: no network namespace";
        }
        else if (ip is null)
        {
            why = "no 'ip' command (iproute2): no network namespace";
        }
        else
        {
            string name = string.Create(CultureInfo.InvariantCulture, $"wsbench-{Environment.ProcessId}-{mtu}");
            ExternalProcess.Outcome? add = ExternalProcess.Run(ip, ["netns", "add", name], TimeSpan.FromSeconds(10));
            if (add is { Succeeded: true })
            {
                ExternalProcess.Outcome? up = ExternalProcess.Run(ip, ["-n", name, "link", "set", "lo", "mtu", mtu.ToString(CultureInfo.InvariantCulture), "up"],
                    TimeSpan.FromSeconds(10));
                if (up is { Succeeded: true })
                {
                    return new KernelLoopback(mtu, name, self, $"lo MTU {mtu} in netns {name}");
                }

                ExternalProcess.Run(ip, ["netns", "del", name], TimeSpan.FromSeconds(10));
                why = $"setting lo MTU {mtu} in a namespace failed ({up?.LastLine})";
            }
            else
            {
                why = $"ip netns add failed ({add?.LastLine})";
            }
        }

        return new KernelLoopback(defaultMtu, null, self, $"default loopback MTU {defaultMtu}, not {mtu} ({why})");
    }

    /// <summary>The command that runs <paramref name="command"/> on this loopback.</summary>
    public string[] Wrap(params string[] command) =>
        _namespace is null ? command : ["ip", "netns", "exec", _namespace, .. command];

    /// <summary>Runs <c>wirestack bench-baseline ARGS</c> here and returns the JSON it printed; in-process (null
    /// subprocess) when this program cannot start itself (smoke mode, a test host).</summary>
    public JsonNode RunBaseline(string[] arguments, TimeSpan limit, Func<JsonNode> inProcess, int? openFiles = null)
    {
        if (_self is null)
        {
            return inProcess();
        }

        string[] command = [.. _self, "bench-baseline", .. arguments];
        if (openFiles is { } n)
        {
            // raise the open-file limit for this one process (root may raise the hard limit; others keep theirs)
            command = ["sh", "-c", string.Create(CultureInfo.InvariantCulture, $"ulimit -n {n} 2>/dev/null; exec \"$@\""), "sh", .. command];
        }

        string[] wrapped = Wrap(command);
        ExternalProcess.Outcome outcome = ExternalProcess.Run(wrapped[0], wrapped[1..], limit)
            ?? throw new InvalidOperationException($"could not start {wrapped[0]}");
        if (!outcome.Succeeded)
        {
            throw new InvalidOperationException($"bench-baseline {string.Join(' ', arguments)} failed: {outcome.LastLine}");
        }

        return JsonNode.Parse(outcome.Stdout) ?? throw new InvalidOperationException("bench-baseline printed nothing");
    }

    public void Dispose()
    {
        if (_namespace is not null)
        {
            ExternalProcess.Run(ExternalProcess.Which("ip") ?? "ip", ["netns", "del", _namespace], TimeSpan.FromSeconds(10));
        }
    }

    private static int DefaultLoopbackMtu()
    {
        try
        {
            return int.Parse(File.ReadAllText("/sys/class/net/lo/mtu").Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return 65536;
        }
    }
}
