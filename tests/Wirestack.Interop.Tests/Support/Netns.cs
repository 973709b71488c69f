using System.Security.Cryptography;
using Xunit.Abstractions;

namespace Wirestack.Interop.Tests.Support;

/// <summary>
/// A network namespace of the test's own (wstest-&lt;random&gt;), with loopback up and, after <see cref="AddTun"/>, a
/// TUN device whose kernel side has an address. Every packet of a test stays inside it. Dispose kills every process
/// started in it and deletes it, whatever happened.
/// </summary>
public sealed class Netns : IDisposable
{
    /// <summary>The kernel's address on the TUN device.</summary>
    public const string KernelAddress = "10.77.0.1";

    /// <summary>Wirestack's address on the TUN device.</summary>
    public const string WirestackAddress = "10.77.0.2";

    public const string WirestackCidr = WirestackAddress + "/24";

    private static readonly TimeSpan s_ipTimeout = TimeSpan.FromSeconds(15);
    private readonly List<Proc> _processes = [];
    private readonly ITestOutputHelper? _log;

    private Netns(string name, ITestOutputHelper? log)
    {
        Name = name;
        _log = log;
    }

    public string Name { get; }

    public static Netns Create(ITestOutputHelper? log = null)
    {
        string name = "wstest-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));
        Ip("netns", "add", name);
        var ns = new Netns(name, log);
        try
        {
            Ip("-n", name, "link", "set", "lo", "up");
        }
        catch
        {
            ns.Dispose();
            throw;
        }

        return ns;
    }

    /// <summary>Makes a persistent TUN device (Wirestack attaches to it), gives the kernel side its address and MTU
    /// and brings it up, all before Wirestack starts.</summary>
    public void AddTun(string device = "tun0", int mtu = 1500)
    {
        Ip("-n", Name, "tuntap", "add", "dev", device, "mode", "tun");
        Ip("-n", Name, "link", "set", device, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Ip("-n", Name, "addr", "add", KernelAddress + "/24", "dev", device);
        Ip("-n", Name, "link", "set", device, "up");
    }

    /// <summary>Runs a command inside the namespace to completion (bounded).</summary>
    public ProcessResult Run(TimeSpan timeout, params string[] command)
    {
        using Proc proc = Start(command);
        ProcessResult result = proc.WaitForExit(timeout);
        _log?.WriteLine($"[{result.Elapsed.TotalSeconds:0.00} s] {result.Command} -> {result.ExitCode}");
        return result;
    }

    /// <summary>Runs a shell script inside the namespace (for redirections).</summary>
    public ProcessResult Shell(TimeSpan timeout, string script) => Run(timeout, "sh", "-c", script);

    /// <summary>Starts a command inside the namespace; it is killed at Dispose if still running.</summary>
    public Proc Start(params string[] command) => StartIn(null, command);

    public Proc StartIn(string? workingDirectory, params string[] command)
    {
        Proc proc = Proc.Start("ip", ["netns", "exec", Name, .. command], workingDirectory);
        lock (_processes)
        {
            _processes.Add(proc);
        }

        return proc;
    }

    /// <summary>Starts `wirestack tun ARGS` inside the namespace.</summary>
    public Proc StartWirestack(params string[] arguments) => Start([WirestackCli.DotnetHost, WirestackCli.CliPath, "tun", .. arguments]);

    /// <summary>Starts `wirestack tun serve` on tun0 with Wirestack's address and waits until it listens.</summary>
    public Proc Serve(params string[] arguments)
    {
        Proc server = StartWirestack(["serve", "--dev", "tun0", "--addr", WirestackCidr, .. arguments]);
        server.WaitForLine(l => l.StartsWith("listening on", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "'listening on'");
        return server;
    }

    public void Dispose()
    {
        lock (_processes)
        {
            foreach (Proc proc in _processes)
            {
                proc.Dispose();
            }
        }

        try
        {
            Ip("netns", "delete", Name);
        }
        catch (Exception ex)
        {
            _log?.WriteLine($"could not delete namespace {Name}: {ex.Message}");
        }
    }

    private static void Ip(params string[] arguments)
    {
        ProcessResult result = Proc.Run(s_ipTimeout, "ip", arguments);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed: {result.Stderr.Trim()}");
        }
    }
}
