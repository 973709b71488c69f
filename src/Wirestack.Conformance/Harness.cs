namespace Wirestack.Conformance;

/// <summary>
/// How the corpus a script comes from runs its scripts, beyond the script itself: the stack profile, and the
/// command-line flags and init scripts its harness passes (spec §8 and the corpus README). FreeBSD's tcp-testsuite
/// runs on FreeBSD; gVisor's harness passes <c>--tolerance_usecs=100000 --init_scripts=packetdrill_setup.sh</c>;
/// the 2013 tests packetdrill deleted in 2019 ran on the Linux 3.11 machines of their day (<see cref="Packetdrill2013"/>);
/// everything else runs like packetdrill's own run_all.py and the kselftests, on Linux with the defaults.
/// </summary>
public sealed record Harness(string Name, string Profile, long? ToleranceMicroseconds, string? InitScript)
{
    public static Harness Packetdrill { get; } = new("packetdrill", "linux", null, null);

    /// <summary>The legacy tests (google-packetdrill @ 2013, "tests from circa 3.11") ran without defaults.sh on
    /// machines whose tcp_rmem[2] Linux 3.11 had sized from memory at boot (tcp_init: min(6 MiB, free buffer pages
    /// / 128)): their SYNs and SYN-ACKs say wscale 6, which Linux's window-scale rule (ilog2(max(tcp_rmem[2],
    /// rmem_max)) - 15) gives for 2 MiB &lt;= tcp_rmem[2] &lt; 4 MiB. The harness sets 3 MiB and 3.11's tcp_rmem[1] of
    /// 87380.</summary>
    public static Harness Packetdrill2013 { get; } =
        new("packetdrill-2013", "linux", null, null) { Setup = ["sysctl -w net.ipv4.tcp_rmem='4096 87380 3145728'"] };

    /// <summary>Shell commands the harness runs before the init script and the script's own commands.</summary>
    public IReadOnlyList<string> Setup { get; init; } = [];

    public static Harness For(string scriptPath)
    {
        string[] parts = Path.GetFullPath(scriptPath).Replace('\\', '/').Split('/');
        if (parts.Contains("freebsd-tcp-testsuite"))
        {
            return new Harness("freebsd-tcp-testsuite", "freebsd", null, null);
        }

        for (int i = 0; i + 2 < parts.Length; i++)
        {
            if (parts[i] == "gvisor" && parts[i + 1] == "test" && parts[i + 2] == "packetdrill")
            {
                string root = string.Join('/', parts[..(i + 3)]);
                return new Harness("gvisor", "linux", 100_000, Path.Combine(root, "packetdrill_setup.sh"));
            }
        }

        return parts.Contains("google-packetdrill-legacy-2013") ? Packetdrill2013 : Packetdrill;
    }
}
