using Wirestack.Stack;

namespace Wirestack.Conformance;

/// <summary>How scripts are run. Command-line values win over the script's own <c>--options</c>, as in packetdrill.</summary>
public sealed class ConformanceOptions
{
    /// <summary>Overrides the script's <c>--tolerance_usecs</c> (packetdrill's default is 4000 µs).</summary>
    public long? ToleranceMicroseconds { get; set; }

    /// <summary>Forces a stack profile ("linux" or "freebsd"); null chooses by path: scripts under a
    /// <c>freebsd-tcp-testsuite</c> directory run with FreeBSD defaults, everything else with Linux defaults.</summary>
    public string? Profile { get; set; }

    /// <summary>Seeds the stack (ISNs, ports, timestamp offsets).</summary>
    public int Seed { get; set; } = 1;

    /// <summary>The longest stretch of virtual time a script may run (a guard against scripts that wait forever).</summary>
    public TimeSpan VirtualTimeLimit { get; set; } = TimeSpan.FromHours(4);

    /// <summary>Adjusts the stack's options after the profile and the script's set-up commands, before the stack is
    /// built: for experiments ("what fails next if the window scale matched?") and tests, never for the corpus verdict.</summary>
    public Action<NetStackOptions>? ConfigureStack { get; set; }

    /// <summary>Called after the script ran (pass or fail, not skip) with the stack it ran on, e.g. to read counters.</summary>
    public Action<NetStack>? Inspect { get; set; }

    /// <summary>When set, every event, packet and call is written here as it happens.</summary>
    public TextWriter? Trace { get; set; }
}
