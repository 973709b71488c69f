using System.Reflection;
using System.Text.RegularExpressions;

namespace Wirestack.Architecture.Tests;

/// <summary>Keeps the layer rule of docs/ARCHITECTURE.md: dependencies point down only, and protocol code has no
/// clock, threads or locks of its own.</summary>
public sealed class LayerRuleTests
{
    private static readonly string s_root = FindRoot();

    private static string FindRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Wirestack.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("repository root (Wirestack.slnx) not found");
    }

    [Fact]
    public void Assemblies_ReferenceOnlyLayersBelow()
    {
        Assembly wire = typeof(Wirestack.Wire.IPv4Address).Assembly;
        Assembly core = typeof(Wirestack.Stack.NetStack).Assembly;
        Assembly sim = typeof(Wirestack.Simulation.Simulator).Assembly;
        Assert.DoesNotContain(wire.GetReferencedAssemblies(), a => a.Name!.StartsWith("Wirestack", StringComparison.Ordinal));
        Assert.Equal(["Wirestack.Wire"], core.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Wirestack", StringComparison.Ordinal)).ToArray());
        Assert.DoesNotContain(sim.GetReferencedAssemblies(), a => a.Name is "Wirestack.Links.Linux" or "Wirestack.Cli" or "wirestack");
    }

    /// <summary>Inside the core, each namespace may use only those below it (Sockets → Stack → Tcp|Udp|Icmp → IP →
    /// Links → Buffers, Time, Diagnostics).</summary>
    [Theory]
    [InlineData("Buffers", "Time|Diagnostics|Links|IP|Icmp|Udp|Tcp|Stack|Sockets")]
    [InlineData("Time", "Buffers|Diagnostics|Links|IP|Icmp|Udp|Tcp|Stack|Sockets")]
    [InlineData("Diagnostics", "Links|IP|Icmp|Udp|Tcp|Stack|Sockets")]
    [InlineData("Links", "IP|Icmp|Udp|Tcp|Stack|Sockets|Diagnostics")]
    [InlineData("IP", "Icmp|Udp|Tcp|Stack|Sockets")]
    [InlineData("Icmp", "Udp|Tcp|Stack|Sockets")]
    [InlineData("Udp", "Icmp|Tcp|Stack|Sockets")]
    [InlineData("Tcp", "Icmp|Udp|Stack|Sockets")]
    [InlineData("Stack", "Sockets")]
    public void Namespaces_NeverReachUp(string layer, string forbidden)
    {
        var pattern = new Regex($@"\bWirestack\.({forbidden})\b");
        var offenders = SourceFiles(layer).Where(f => pattern.IsMatch(File.ReadAllText(f))).ToList();
        Assert.True(offenders.Count == 0, $"{layer} reaches up: {string.Join(", ", offenders)}");
    }

    /// <summary>Protocol code is single-threaded and deterministic: it is handed the time and a seeded Random.</summary>
    [Theory]
    [InlineData("Buffers")]
    [InlineData("Time")]
    [InlineData("Links")]
    [InlineData("IP")]
    [InlineData("Icmp")]
    [InlineData("Udp")]
    [InlineData("Tcp")]
    public void ProtocolCode_HasNoClockThreadsOrLocks(string layer)
    {
        var forbidden = new Regex(@"\b(DateTime\.|DateTimeOffset\.|Stopwatch|TimeProvider\.System|Random\.Shared|Environment\.|Thread\b|Task\b|Task\.|async\s|await\s|lock\s*\(|Monitor\.|Interlocked\.)");
        var offenders = new List<string>();
        foreach (string file in SourceFiles(layer))
        {
            foreach ((string line, int n) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
            {
                string code = line.Split("//")[0];
                if (forbidden.IsMatch(code))
                {
                    offenders.Add($"{Path.GetFileName(file)}:{n}: {line.Trim()}");
                }
            }
        }

        Assert.True(offenders.Count == 0, string.Join(Environment.NewLine, offenders));
    }

    /// <summary>Native code stays in one place: only Wirestack.Links.Linux declares P/Invoke or unsafe code, and
    /// only its project allows unsafe blocks; it depends on the core and nothing above it.</summary>
    [Fact]
    public void NativeCalls_OnlyInWirestackLinksLinux()
    {
        var native = new Regex(@"\[(DllImport|LibraryImport)\b|\bstatic\s+(partial\s+)?extern\b|\bunsafe\b|delegate\s*\*\s*unmanaged");
        string linux = Path.Combine(s_root, "src", "Wirestack.Links.Linux") + Path.DirectorySeparatorChar;
        var offenders = new List<string>();
        foreach (string top in new[] { "src", "bench", "tests" })
        {
            foreach (string file in Directory.EnumerateFiles(Path.Combine(s_root, top), "*.cs", SearchOption.AllDirectories))
            {
                if (file.StartsWith(linux, StringComparison.Ordinal) || file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ||
                    file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                {
                    continue;
                }

                foreach ((string line, int n) in File.ReadLines(file).Select((l, i) => (l, i + 1)))
                {
                    if (native.IsMatch(line.Split("//")[0]))
                    {
                        offenders.Add($"{Path.GetRelativePath(s_root, file)}:{n}: {line.Trim()}");
                    }
                }
            }
        }

        Assert.True(offenders.Count == 0, "native code outside Wirestack.Links.Linux:" + Environment.NewLine + string.Join(Environment.NewLine, offenders));
        var unsafeProjects = Directory.EnumerateFiles(s_root, "*.csproj", SearchOption.AllDirectories)
            .Where(f => Regex.IsMatch(File.ReadAllText(f), @"<AllowUnsafeBlocks>\s*true", RegexOptions.IgnoreCase))
            .Select(f => Path.GetFileName(f))
            .ToList();
        Assert.Equal(["Wirestack.Links.Linux.csproj"], unsafeProjects);

        Assembly linuxAssembly = typeof(Wirestack.Links.Linux.TunDevice).Assembly;
        Assert.All(linuxAssembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Wirestack", StringComparison.Ordinal)),
            name => Assert.Contains(name, new[] { "Wirestack", "Wirestack.Wire" }));
        Assembly core = typeof(Wirestack.Stack.NetStack).Assembly;
        Assert.DoesNotContain(core.GetReferencedAssemblies(), a => a.Name == "Wirestack.Links.Linux");
    }

    private static IEnumerable<string> SourceFiles(string layer)
    {
        string dir = Path.Combine(s_root, "src", "Wirestack", layer);
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories) : [];
    }
}
