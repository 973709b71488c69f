using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Wirestack.Conformance;

/// <summary>
/// The pipelines scripts run to look at the machine (spec §7): a first command this interpreter answers from the
/// stack (<see cref="Nstat"/>'s <c>nstat</c>, FreeBSD's <c>sockstat</c>) piped into <c>grep</c> stages. The exit
/// status is the last stage's, as a shell's; packetdrill fails a script whose command fails.
/// </summary>
internal static class ShellPipeline
{
    /// <summary>Runs <paramref name="produce"/> (the first stage, already parsed) and the <c>grep</c> stages of
    /// <paramref name="stages"/> after it; returns the exit status with what the first stage printed that the first
    /// grep looks at (for a failure's message). Each grep is checked first (a skip names what it cannot do); a null
    /// <paramref name="produce"/> only checks, as before a script runs.</summary>
    public static (int Status, string Shown) Run(IReadOnlyList<List<string>> stages, Func<List<string>>? produce, string command)
    {
        var greps = stages.Skip(1).Select(words => Grep.Parse(words, command)).ToList();
        if (produce is null)
        {
            return (0, "");
        }

        List<string> lines = produce();
        string shown = string.Join("; ", (greps.Count > 0 ? greps[0].Filter(lines, ignoreOptions: true).Lines : lines).Where(l => !l.StartsWith('#')));
        int status = 0;
        foreach (Grep grep in greps)
        {
            (status, lines) = grep.Filter(lines);
        }

        return (status, shown.Length > 0 ? shown : "nothing");
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
