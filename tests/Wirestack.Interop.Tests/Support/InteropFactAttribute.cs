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

    /// <summary>Marks a reproduction of a known stack bug: skipped with this reason, unless
    /// WIRESTACK_INTEROP_KNOWN_BUGS=1 (then it runs, and fails until the bug is fixed).</summary>
    public string? KnownBug
    {
        get => _knownBug;
        set
        {
            _knownBug = value;
            Skip ??= KnownBugSkip(value);
        }
    }

    private string? _knownBug;

    internal static string? KnownBugSkip(string? bug) =>
        bug is null || Environment.GetEnvironmentVariable("WIRESTACK_INTEROP_KNOWN_BUGS") == "1"
            ? null
            : $"known stack bug (set WIRESTACK_INTEROP_KNOWN_BUGS=1 to run the reproduction): {bug}";

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

        return File.Exists(WirestackCli.CliPath) ? null : $"the CLI is not built at {WirestackCli.CliPath}";
    }
}
