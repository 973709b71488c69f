namespace Wirestack.Conformance;

/// <summary>
/// A visible list of scripts known to fail, one per line: <c>path reason...</c> (the path relative to the corpus
/// root, with '/' separators; the rest of the line says why). Blank lines and lines starting with '#' are ignored.
/// </summary>
public sealed class ExpectedFailures
{
    private readonly Dictionary<string, string> _entries;

    private ExpectedFailures(Dictionary<string, string> entries)
    {
        _entries = entries;
    }

    public IReadOnlyDictionary<string, string> Entries => _entries;

    public static ExpectedFailures Empty { get; } = new(new Dictionary<string, string>(StringComparer.Ordinal));

    public static ExpectedFailures Load(string file) => Parse(File.ReadAllLines(file));

    public static ExpectedFailures Parse(IEnumerable<string> lines)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            int space = line.IndexOfAny([' ', '\t']);
            string path = space < 0 ? line : line[..space];
            string reason = space < 0 ? "" : line[space..].Trim();
            if (!entries.TryAdd(Normalise(path), reason))
            {
                throw new FormatException($"'{path}' is listed twice");
            }
        }

        return new ExpectedFailures(entries);
    }

    /// <summary>The listed entry that names <paramref name="scriptPath"/> (the entry is a '/'-suffix of it).</summary>
    public string? Find(string scriptPath)
    {
        string normalised = Normalise(scriptPath);
        foreach (string entry in _entries.Keys)
        {
            if (normalised == entry || normalised.EndsWith("/" + entry, StringComparison.Ordinal))
            {
                return entry;
            }
        }

        return null;
    }

    public string? ReasonFor(string scriptPath) => Find(scriptPath) is { } entry ? _entries[entry] : null;

    private static string Normalise(string path) => path.Replace('\\', '/').TrimStart('.', '/');
}
