namespace Wirestack.Interop.Tests.Support;

/// <summary>
/// A <see cref="FactAttribute"/> for tests that need the real kernel: skipped, with one line saying why, unless the
/// process runs on Linux as root with /dev/net/tun, ip(8) and every tool the test names, and the CLI is built.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class InteropFactAttribute : FactAttribute
{
    public InteropFactAttribute(params string[] tools)
    {
        Skip = Why(tools);
    }

    /// <summary>Null when everything is there, else the reason.</summary>
    public static string? Why(IEnumerable<string> tools)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "interop tests need Linux (TUN devices, network namespaces)";
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return "interop tests need root (network namespaces and TUN devices)";
        }

        if (!File.Exists("/dev/net/tun"))
        {
            return "interop tests need /dev/net/tun (modprobe tun)";
        }

        foreach (string tool in tools.Prepend("ip"))
        {
            if (Tools.Find(tool) is null)
            {
                return $"{tool} is not installed (./test.sh installs it as root)";
            }
        }

        if (!File.Exists(WirestackCli.CliPath))
        {
            return $"the CLI is not built at {WirestackCli.CliPath}";
        }

        return s_namespaces.Value;
    }

    // Root alone is not enough in some containers (no CAP_SYS_ADMIN, /run/netns not mountable): try once.
    private static readonly Lazy<string?> s_namespaces = new(() =>
    {
        string name = "wsprobe-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        ProcessResult added = Proc.Run(TimeSpan.FromSeconds(15), "ip", "netns", "add", name);
        if (added.ExitCode != 0)
        {
            return $"interop tests need network namespaces, and 'ip netns add' failed here: {added.Stderr.Trim()}";
        }

        Proc.Run(TimeSpan.FromSeconds(15), "ip", "netns", "delete", name);
        return null;
    });
}
