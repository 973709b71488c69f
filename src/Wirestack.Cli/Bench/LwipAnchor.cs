using System.Globalization;

namespace Wirestack.Cli.Bench;

/// <summary>
/// The lwIP bulk-throughput anchor (<c>shared/anchors/lwip</c>, next to the repository): lwIP 2.1.3 built from
/// Debian's source package by its <c>build.sh</c> into <c>/tmp/lwip-bench</c>, two endpoints in one process over
/// lwIP's loopback interface, one thread, printing <c>lwip_bulk_gbps N</c>. Built once (again only when build.sh or
/// lwip_bulk.c is newer than the binaries).
/// </summary>
internal sealed class LwipAnchor
{
    private const string OutputDirectory = "/tmp/lwip-bench";

    private LwipAnchor(string directory, string note)
    {
        Directory = directory;
        Note = note;
    }

    public string Directory { get; }

    /// <summary>What was done to get the binaries ("built in 64 s", "built before").</summary>
    public string Note { get; }

    /// <summary>The variants compared, with what they are.</summary>
    public static readonly (string Variant, int Mtu, string Description)[] Variants =
    [
        ("deb_fastcsum", 1500, "lwIP 2.1.3 deb_fastcsum: MSS 1460, 64 KiB windows, 64-bit checksum"),
        ("deb", 1500, "lwIP 2.1.3 deb: MSS 1460, 64 KiB windows, lwIP's own checksum"),
        ("jumbo_fastcsum", 65535, "lwIP 2.1.3 jumbo_fastcsum: MSS 16384 (not 65495), 1 MiB windows, 64-bit checksum"),
        ("jumbo", 65535, "lwIP 2.1.3 jumbo: MSS 16384 (not 65495), 1 MiB windows, lwIP's own checksum"),
    ];

    /// <summary>Finds and (if needed) builds the anchor; null with the reason in <paramref name="missing"/>.</summary>
    public static LwipAnchor? Prepare(Action<string> progress, out string? missing)
    {
        string? anchor = FindAnchor();
        if (anchor is null)
        {
            missing = "lwIP anchor not found: no shared/anchors/lwip/build.sh next to the repository (set WIRESTACK_LWIP_ANCHOR to its directory)";
            return null;
        }

        string script = Path.Combine(anchor, "build.sh");
        DateTime sources = new[] { script, Path.Combine(anchor, "lwip_bulk.c") }.Where(File.Exists).Max(File.GetLastWriteTimeUtc);
        bool built = Variants.All(v => File.Exists(Binary(v.Variant)) && File.GetLastWriteTimeUtc(Binary(v.Variant)) >= sources);
        if (built)
        {
            missing = null;
            return new LwipAnchor(anchor, $"built before in {OutputDirectory}");
        }

        progress($"building the lwIP anchor ({script}: apt-get source lwip, gcc; about a minute the first time)");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ExternalProcess.Outcome? outcome = ExternalProcess.Run("bash", [script], TimeSpan.FromMinutes(10), anchor);
        if (outcome is not { Succeeded: true } || !Variants.All(v => File.Exists(Binary(v.Variant))))
        {
            missing = $"lwIP anchor did not build: {outcome?.LastLine ?? "bash not found"}";
            return null;
        }

        missing = null;
        return new LwipAnchor(anchor, string.Create(CultureInfo.InvariantCulture, $"built now in {clock.Elapsed.TotalSeconds:0} s"));
    }

    /// <summary>Runs one variant <paramref name="repeats"/> times moving <paramref name="megabytes"/> MiB; the
    /// median Gbit/s, or null with the reason.</summary>
    public BulkFigure? Run(string variant, int megabytes, int repeats, out string? missing)
    {
        var figures = new List<BulkFigure>();
        for (int i = 0; i < repeats; i++)
        {
            // bash's time keyword gives the CPU time (user + system) the run used, as "cpu U S" on stderr
            ExternalProcess.Outcome? outcome = ExternalProcess.Run("bash",
                ["-c", "TIMEFORMAT='cpu %3U %3S'; time \"$0\" \"$1\"", Binary(variant), megabytes.ToString(CultureInfo.InvariantCulture)],
                TimeSpan.FromMinutes(2));
            string? line = outcome?.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith("lwip_bulk_gbps ", StringComparison.Ordinal));
            if (outcome is not { Succeeded: true } || line is null ||
                !double.TryParse(line["lwip_bulk_gbps ".Length..], NumberStyles.Float, CultureInfo.InvariantCulture, out double gbps))
            {
                missing = $"lwip_bulk_{variant} failed: {outcome?.LastLine ?? "did not start"}";
                return null;
            }

            double cpu = 0;
            string? times = outcome.Stderr.Split('\n').LastOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            string[] parts = times?.Split(' ') ?? [];
            if (parts.Length == 3 && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double user) &&
                double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double system))
            {
                cpu = user + system;
            }

            long bytes = (long)megabytes << 20;
            figures.Add(new BulkFigure(gbps, bytes, bytes * 8 / (gbps * 1e9), CpuSeconds: cpu));
        }

        figures.Sort((a, b) => a.Gbps.CompareTo(b.Gbps));
        missing = null;
        return figures[figures.Count / 2];
    }

    private static string Binary(string variant) => Path.Combine(OutputDirectory, "lwip_bulk_" + variant);

    /// <summary>WIRESTACK_LWIP_ANCHOR; else <c>../shared/anchors/lwip</c> relative to the repository (found upwards
    /// from the current directory and from this program); for a git worktree, also relative to its main
    /// checkout.</summary>
    private static string? FindAnchor()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("WIRESTACK_LWIP_ANCHOR") is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }

        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            if (FindRepository(start) is not { } repository)
            {
                continue;
            }

            candidates.Add(Path.Combine(repository, "..", "shared", "anchors", "lwip"));
            if (MainCheckout(repository) is { } main)
            {
                candidates.Add(Path.Combine(main, "..", "shared", "anchors", "lwip"));
            }
        }

        return candidates.Select(Path.GetFullPath).FirstOrDefault(c => File.Exists(Path.Combine(c, "build.sh")));
    }

    private static string? FindRepository(string start)
    {
        for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Wirestack.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>A worktree's <c>.git</c> is a file "gitdir: MAIN/.git/worktrees/NAME": MAIN is the main checkout.</summary>
    private static string? MainCheckout(string repository)
    {
        string dotGit = Path.Combine(repository, ".git");
        if (!File.Exists(dotGit))
        {
            return null;
        }

        string text = File.ReadAllText(dotGit).Trim();
        if (!text.StartsWith("gitdir:", StringComparison.Ordinal))
        {
            return null;
        }

        string gitdir = text["gitdir:".Length..].Trim();
        int worktrees = gitdir.Replace('\\', '/').LastIndexOf("/.git/worktrees/", StringComparison.Ordinal);
        return worktrees < 0 ? null : gitdir[..worktrees];
    }
}
