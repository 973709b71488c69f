using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Wirestack.Conformance;

/// <summary>
/// iproute2's <c>nstat</c> over the stack's counters, and the <c>grep</c> stages scripts pipe it into
/// (<c>nstat -n</c>, then <c>nstat | grep TcpExtBeyondWindow | grep -q " 3 "</c>). Counters are named as nstat names
/// them: the <c>/proc/net/snmp</c> or <c>/proc/net/netstat</c> group followed by the field (<c>TcpInSegs</c>,
/// <c>TcpExtTCPSACKRecovery</c>). As nstat, a run prints the counters that moved since the last run (its history)
/// and makes the current values the history; <c>-n</c> only updates the history, <c>-s</c> leaves it alone, <c>-a</c>
/// prints absolute values, <c>-z</c> zeros too. The output lines are nstat's: name, value, rate (always 0.0 here:
/// virtual time has no rate estimator).
/// </summary>
internal sealed class Nstat(Func<IReadOnlyDictionary<string, long>> read)
{
    private Dictionary<string, long> _history = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="stages"/> (the first <c>nstat</c>, the others <c>grep</c>) and returns the
    /// pipeline's exit status (the last stage's) with what nstat printed that the first grep looks at (for a failure's
    /// message). A null <paramref name="nstat"/> only checks
    /// that every stage is one this class emulates (before the script runs); anything else is a skip.</summary>
    public static (int Status, string Output) Run(IReadOnlyList<List<string>> stages, Nstat? nstat, string command)
    {
        NstatArguments args = NstatArguments.Parse(stages[0], command);
        var greps = stages.Skip(1).Select(words => Grep.Parse(words, command)).ToList();
        if (nstat is null)
        {
            return (0, "");
        }

        List<string> lines = nstat.Print(args);
        // What a failure message shows: nstat's lines that the first grep looks at, or all of them.
        string shown = string.Join("; ", (greps.Count > 0 ? greps[0].Filter(lines, ignoreOptions: true).Lines : lines).Where(l => l != "#kernel"));
        int status = 0;
        foreach (Grep grep in greps)
        {
            (status, lines) = grep.Filter(lines);
        }

        return (status, shown.Length > 0 ? shown : "nothing");
    }

    private List<string> Print(NstatArguments args)
    {
        IReadOnlyDictionary<string, long> now = read();
        var lines = new List<string> { "#kernel" };
        foreach ((string name, long value) in now.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            long shown = args.Absolute ? value : value - _history.GetValueOrDefault(name);
            if ((shown != 0 || args.Zeros) && (args.Patterns.Count == 0 || args.Patterns.Any(p => p.IsMatch(name))))
            {
                lines.Add(string.Create(CultureInfo.InvariantCulture, $"{name,-32}{shown,-16}{0.0,6:0.0}"));
            }
        }

        if (args.UpdateHistory)
        {
            _history = new Dictionary<string, long>(now, StringComparer.Ordinal);
        }

        return args.Print ? lines : [];
    }

    /// <summary>The stack's counters under nstat's names (the snapshot's Ip, Icmp, Udp, Tcp and TcpExt groups).</summary>
    public static IReadOnlyDictionary<string, long> Names(SortedDictionary<string, SortedDictionary<string, long>> snapshot)
    {
        var names = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string group in (string[])["Ip", "Icmp", "Udp", "Tcp", "TcpExt"])
        {
            if (snapshot.TryGetValue(group, out SortedDictionary<string, long>? counters))
            {
                foreach ((string field, long value) in counters)
                {
                    names[group + field] = value;
                }
            }
        }

        return names;
    }

    /// <summary>Splits a command line at the pipes outside quotes.</summary>
    public static List<string> SplitPipeline(string command)
    {
        var stages = new List<string>();
        var sb = new StringBuilder();
        char quote = '\0';
        foreach (char c in command)
        {
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '|')
            {
                stages.Add(sb.ToString().Trim());
                sb.Clear();
                continue;
            }

            sb.Append(c);
        }

        stages.Add(sb.ToString().Trim());
        return stages;
    }

    private sealed record NstatArguments(bool Print, bool UpdateHistory, bool Absolute, bool Zeros, List<Regex> Patterns)
    {
        public static NstatArguments Parse(List<string> words, string command)
        {
            bool print = true, update = true, absolute = false, zeros = false;
            var patterns = new List<Regex>();
            foreach (string word in words.Skip(1))
            {
                if (word.StartsWith('-') && word.Length > 1 && !word.StartsWith("--", StringComparison.Ordinal))
                {
                    foreach (char flag in word.AsSpan(1))
                    {
                        switch (flag)
                        {
                            case 'n': print = false; break;
                            case 's': update = false; break;
                            case 'a': absolute = true; break;
                            case 'z': zeros = true; break;
                            default: throw new ScriptSkipException($"shell command `{command}` (nstat -{flag})");
                        }
                    }
                }
                else if (word.StartsWith('-'))
                {
                    throw new ScriptSkipException($"shell command `{command}` (nstat {word})");
                }
                else
                {
                    // nstat's arguments are shell patterns over the counter names
                    patterns.Add(new Regex("^" + Regex.Escape(word).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant));
                }
            }

            return new NstatArguments(print, update, absolute, zeros, patterns);
        }
    }

    /// <summary>One <c>grep</c> stage: <c>-q</c>, <c>-c</c>, <c>-v</c>, <c>-F</c>, <c>-E</c>, <c>-w</c>, <c>-x</c> and one
    /// pattern; a basic pattern only when it has no character a basic and an extended expression read apart.</summary>
    private sealed record Grep(Regex Pattern, bool Quiet, bool Count, bool Invert)
    {
        public static Grep Parse(List<string> words, string command)
        {
            if (words.Count == 0 || words[0] != "grep")
            {
                throw new ScriptSkipException($"shell command `{command}` (a pipeline stage other than grep)");
            }

            bool quiet = false, count = false, invert = false, fixedString = false, extended = false, word = false, line = false;
            string? pattern = null;
            foreach (string w in words.Skip(1))
            {
                if (pattern is null && w.StartsWith('-') && w.Length > 1)
                {
                    foreach (char flag in w.AsSpan(1))
                    {
                        switch (flag)
                        {
                            case 'q': quiet = true; break;
                            case 'c': count = true; break;
                            case 'v': invert = true; break;
                            case 'F': fixedString = true; break;
                            case 'E': extended = true; break;
                            case 'w': word = true; break;
                            case 'x': line = true; break;
                            default: throw new ScriptSkipException($"shell command `{command}` (grep -{flag})");
                        }
                    }
                }
                else if (pattern is null)
                {
                    pattern = w;
                }
                else
                {
                    throw new ScriptSkipException($"shell command `{command}` (grep with more than one pattern or a file)");
                }
            }

            if (pattern is null)
            {
                throw new ScriptSkipException($"shell command `{command}` (grep without a pattern)");
            }

            if (!fixedString && !extended && pattern.IndexOfAny(['+', '?', '|', '(', ')', '{', '}', '\\']) >= 0)
            {
                throw new ScriptSkipException($"shell command `{command}` (a basic grep pattern with operators)");
            }

            string regex = fixedString ? Regex.Escape(pattern) : pattern;
            if (word)
            {
                regex = $@"(?<![\w])(?:{regex})(?![\w])";
            }

            if (line)
            {
                regex = $"^(?:{regex})$";
            }

            return new Grep(new Regex(regex, RegexOptions.CultureInvariant), quiet, count, invert);
        }

        /// <summary>grep's exit status (0 when a line was selected) and what it prints.</summary>
        public (int Status, List<string> Lines) Filter(List<string> input, bool ignoreOptions = false)
        {
            List<string> selected = input.Where(line => Pattern.IsMatch(line) != (Invert && !ignoreOptions)).ToList();
            int status = selected.Count > 0 ? 0 : 1;
            List<string> output = ignoreOptions ? selected : Quiet ? [] : Count ? [selected.Count.ToString(CultureInfo.InvariantCulture)] : selected;
            return (status, output);
        }
    }
}
