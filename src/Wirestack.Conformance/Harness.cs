namespace Wirestack.Conformance;

/// <summary>
/// How the corpus a script comes from runs its scripts, beyond the script itself: the stack profile, and the
/// command-line flags and init scripts its harness passes (spec §8 and the corpus README). FreeBSD's tcp-testsuite
/// runs on FreeBSD; gVisor's harness passes <c>--tolerance_usecs=100000 --init_scripts=packetdrill_setup.sh</c>;
/// everything else runs like packetdrill's own run_all.py and the kselftests, on Linux with the defaults.
/// </summary>
public sealed record Harness(string Name, string Profile, long? ToleranceMicroseconds, string? InitScript)
{
    public static Harness Packetdrill { get; } = new("packetdrill", "linux", null, null);

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

        return Packetdrill;
    }
}
