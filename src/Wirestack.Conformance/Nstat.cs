using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Wirestack.Conformance;

/// <summary>
/// iproute2's <c>nstat</c> over the stack's counters (<c>nstat -n</c>, then <c>nstat | grep TcpExtBeyondWindow |
/// grep -q " 3 "</c>, the grep stages being <see cref="ShellPipeline"/>'s). Counters are named as nstat names
/// them: the <c>/proc/net/snmp</c> or <c>/proc/net/netstat</c> group followed by the field (<c>TcpInSegs</c>,
/// <c>TcpExtTCPSACKRecovery</c>). As nstat, a run prints the counters that moved since the last run (its history)
/// and makes the current values the history; <c>-n</c> only updates the history, <c>-s</c> leaves it alone, <c>-a</c>
/// prints absolute values, <c>-z</c> zeros too. The output lines are nstat's: name, value, rate (always 0.0 here:
/// virtual time has no rate estimator).
/// </summary>
internal sealed class Nstat(Func<IReadOnlyDictionary<string, long>> read)
{
    private Dictionary<string, long> _history = new(StringComparer.Ordinal);

    /// <summary>The lines <c>nstat</c> with <paramref name="words"/> prints (and its effect on the history), as a
    /// command to run; the arguments are checked now (a skip for one nstat has that this class does not).</summary>
    public static Func<Nstat, List<string>> Command(List<string> words, string command)
    {
        NstatArguments args = NstatArguments.Parse(words, command);
        return nstat => nstat.Print(args);
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
}
