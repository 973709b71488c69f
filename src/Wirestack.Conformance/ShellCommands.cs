using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Wirestack.Sockets;
using Wirestack.Tcp;

namespace Wirestack.Conformance;

/// <summary>
/// The shell commands scripts run (spec §7), interpreted instead of executed: sysctl settings become stack settings;
/// set-up commands that only tune the Linux test machine are accepted as no-ops; anything else is a skip naming the
/// command. Knobs the stack has no equivalent for are accepted only at the value the stack's fixed behaviour matches
/// (e.g. <c>tcp_ecn=0</c>: the stack does not do ECN), so a script that changes them skips instead of passing by luck.
/// </summary>
internal static partial class ShellCommands
{
    /// <summary>What the commands that look at the machine read: the stack's counters (<c>nstat</c>) and the
    /// script's open sockets by fd (<c>sockstat</c>).</summary>
    internal sealed record ShellTools(Nstat Nstat, Func<IEnumerable<(long Fd, NetSocket Socket)>> Sockets);

    /// <summary>defaults.sh of the gtests and kselftests (spec §7), as sysctl assignments.</summary>
    private static readonly string[] s_linuxDefaults =
    [
        "net.ipv4.tcp_rmem=4096 540000 15728640",
        "net.ipv4.tcp_wmem=4096 262144 4194304",
        "net.ipv4.tcp_timestamps=1",
        "net.ipv4.tcp_syn_retries=5",
        "net.ipv4.tcp_synack_retries=5",
        "net.ipv4.tcp_frto=2",
        "net.ipv4.tcp_sack=1",
        "net.ipv4.tcp_dsack=1",
        "net.ipv4.tcp_fack=0",
        "net.ipv4.tcp_reordering=3",
        "net.ipv4.tcp_congestion_control=cubic",
        "net.ipv4.tcp_slow_start_after_idle=0",
        "net.ipv4.tcp_early_retrans=4",
        "net.ipv4.tcp_recovery=1",
        "net.ipv4.tcp_tso_win_divisor=3",
        "net.ipv4.tcp_ecn=0",
        "net.ipv4.tcp_pacing_ss_ratio=200",
        "net.ipv4.tcp_pacing_ca_ratio=120",
        "net.ipv4.tcp_notsent_lowat=4294967295",
        "net.ipv4.tcp_fastopen=0x70403",
        "net.ipv4.tcp_fastopen_key=a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4",
        "net.ipv4.tcp_syncookies=1",
    ];

    /// <summary>Linux knobs without a stack equivalent, and the values at which the stack already behaves that way
    /// (null: any value; the knob only tunes machinery the stack does not have).</summary>
    private static readonly Dictionary<string, string[]?> s_linuxNoOps = new()
    {
        ["tcp_frto"] = ["2"],                     // F-RTO: not implemented, accepted at the production value
        ["tcp_dsack"] = ["1"],                    // the stack sends D-SACK blocks
        ["tcp_fack"] = ["0"],
        ["tcp_reordering"] = ["3"],               // dupthresh 3 (RFC 5681)
        ["tcp_recovery"] = ["1"],                 // RACK on (Linux default): RACK loss detection is not in the stack (its TLP is)
        ["tcp_min_tso_segs"] = null,
        ["tcp_ecn"] = ["0"],                      // no ECN in the stack
        ["tcp_ecn_option"] = null,
        ["tcp_pacing_ss_ratio"] = null,           // no pacing
        ["tcp_pacing_ca_ratio"] = null,
        ["tcp_fastopen"] = null,                  // no TFO; TFO scripts skip on their options and calls
        ["tcp_fastopen_key"] = null,
        ["tcp_invalid_ratelimit"] = ["0"],        // the stack does not rate-limit its replies to invalid segments
    };

    /// <summary>FreeBSD knobs accepted at their FreeBSD default value (the scripts set "all relevant sysctl variables
    /// to their default values", which the freebsd profile already has).</summary>
    private static readonly Dictionary<string, string> s_freeBsdDefaults = new()
    {
        ["net.inet.tcp.rfc1323"] = "1",
        ["net.inet.tcp.blackhole"] = "0",
        ["net.inet.tcp.sack.enable"] = "1",
        ["net.inet.tcp.ecn.enable"] = "2",
        ["net.inet.tcp.rexmit_slop"] = "200",
        ["net.inet.tcp.rexmit_drop_options"] = "0",
        ["kern.ipc.maxsockbuf"] = "2097152",
        ["net.inet.tcp.hostcache.purgenow"] = "1",
        ["net.inet.tcp.insecure_rst"] = "0",
        ["net.inet.tcp.insecure_syn"] = "0",
    };

    /// <summary>Applies one back-quoted command (possibly several lines) to <paramref name="settings"/>; <c>nstat</c>
    /// and <c>sockstat</c> pipelines read <paramref name="tools"/> (null: only checked, as before a script runs). Throws
    /// <see cref="ScriptSkipException"/> for commands it cannot emulate, and <see cref="ScriptFailException"/> for a
    /// command that fails (a grep that selects nothing), as packetdrill fails a script whose command fails.</summary>
    public static void Apply(string text, TcpSettings settings, ShellTools? tools = null)
    {
        foreach (string command in SplitCommands(text))
        {
            ApplyOne(command, settings, tools);
        }
    }

    private static IEnumerable<string> SplitCommands(string text)
    {
        string joined = text.Replace("\\\r\n", " ").Replace("\\\n", " ");
        foreach (string raw in joined.Split('\n'))
        {
            string line = raw.Trim();
            int hash = line.IndexOf('#');
            if (hash == 0)
            {
                continue;
            }

            foreach (string part in line.Split([";", "&&"], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                yield return part;
            }
        }
    }

    private static void ApplyOne(string command, TcpSettings settings, ShellTools? tools)
    {
        List<string> pipeline = ShellPipeline.SplitPipeline(command);
        List<string> words = ShellWords(pipeline[0]);
        string first = words.Count > 0 ? Path.GetFileName(words[0]) : "";
        if (first is "nstat" or "sockstat")
        {
            Func<List<string>>? produce;
            if (first == "nstat")
            {
                Func<Nstat, List<string>> nstat = Nstat.Command(words, command);
                produce = tools is null ? null : () => nstat(tools.Nstat);
            }
            else
            {
                Func<IEnumerable<(long Fd, NetSocket Socket)>, List<string>> sockstat = Sockstat.Command(words, command);
                produce = tools is null ? null : () => sockstat(tools.Sockets());
            }

            (int status, string shown) = ShellPipeline.Run([.. pipeline.Select(ShellWords)], produce, command);
            if (status != 0)
            {
                throw new ScriptFailException($"shell command `{command}` exited with status {status} ({first} printed: {shown})");
            }

            return;
        }

        if (pipeline.Count > 1)
        {
            throw new ScriptSkipException($"shell command `{command}`");
        }

        if (words.Count == 0)
        {
            return;
        }

        string program = words[0];
        string name = Path.GetFileName(program);
        if (name == "defaults.sh")
        {
            foreach (string assignment in s_linuxDefaults)
            {
                SetSysctl(assignment, settings, command);
            }

            return;
        }

        if (program.StartsWith("/tmp/sysctl_restore_", StringComparison.Ordinal) || (name == "exit" && words.Skip(1).All(w => w == "0")))
        {
            return; // per-script configuration: nothing to restore
        }

        switch (name)
        {
            case "sysctl":
                foreach (string arg in words.Skip(1).Where(a => !a.StartsWith('-')))
                {
                    if (!arg.Contains('='))
                    {
                        throw new ScriptSkipException($"shell command `{command}` (reading a sysctl)");
                    }

                    SetSysctl(arg, settings, command);
                }

                return;
            case "set_sysctls.py":
                foreach (string arg in words.Skip(1))
                {
                    const string prefix = "/proc/sys/";
                    if (!arg.StartsWith(prefix, StringComparison.Ordinal) || !arg.Contains('='))
                    {
                        throw new ScriptSkipException($"shell command `{command}`");
                    }

                    SetSysctl(arg[prefix.Length..].Replace('/', '.'), settings, command);
                }

                return;
            case "ip" when words.Count >= 3 && words[1] == "tcp_metrics" && words[2] == "flush":
                return; // a fresh stack has no cached metrics
            case "tc" when words.Count >= 7 && words[1] == "qdisc" && words[2] is "add" or "replace" && words.Contains("root") &&
                           words[^1] is "pfifo" or "pfifo_fast" or "fq_codel":
                return; // a plain FIFO on the test device: the capture link queues nothing
            case "ethtool" when words.Count >= 3 && words[1] == "-K" &&
                                words.Skip(3).Chunk(2).All(p => p.Length == 2 && p[0] is "tso" or "gso" or "gro" && p[1] == "off"):
                return; // offloads off: the stack never aggregates segments
        }

        throw new ScriptSkipException($"shell command `{command}`");
    }

    private static void SetSysctl(string assignment, TcpSettings s, string command)
    {
        int eq = assignment.IndexOf('=');
        string key = assignment[..eq].Trim();
        string value = EvaluateArithmetic(assignment[(eq + 1)..].Trim().Trim('"', '\''));
        string Unsupported() => $"sysctl {key}={value}";

        if (key.StartsWith("net.inet.", StringComparison.Ordinal) || key.StartsWith("kern.", StringComparison.Ordinal))
        {
            SetFreeBsd(key, value, s, Unsupported);
            return;
        }

        string knob = key.StartsWith("net.ipv4.", StringComparison.Ordinal) ? key["net.ipv4.".Length..]
            : key.StartsWith("net.core.", StringComparison.Ordinal) ? "core." + key["net.core.".Length..]
            : throw new ScriptSkipException(Unsupported());

        long[] Numbers(int count)
        {
            long[] n = value.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(v => ParseLong(v, Unsupported)).ToArray();
            return n.Length == count ? n : throw new ScriptSkipException(Unsupported());
        }

        bool Flag() => Numbers(1)[0] switch
        {
            0 => false,
            1 => true,
            _ => throw new ScriptSkipException(Unsupported()),
        };

        int Int() => checked((int)Numbers(1)[0]);

        switch (knob)
        {
            case "tcp_rmem":
            {
                long[] v = Numbers(3);
                s.ReceiveBufferDefault = checked((int)v[1]);
                s.ReceiveBufferMax = checked((int)v[2]);
                return;
            }

            case "tcp_wmem":
            {
                long[] v = Numbers(3);
                s.SendBufferDefault = checked((int)v[1]);
                s.SendBufferMax = checked((int)v[2]);
                return;
            }

            case "tcp_timestamps": s.Timestamps = Flag(); return;
            case "tcp_sack": s.Sack = Flag(); return;
            case "tcp_window_scaling": s.WindowScaling = Flag(); return;
            case "tcp_syn_retries": s.SynRetries = Int(); return;
            case "tcp_synack_retries": s.SynAckRetries = Int(); return;
            case "tcp_retries2": s.Retries2 = Int(); return;
            case "tcp_orphan_retries": s.OrphanRetries = Int() == 0 ? 8 : Int(); return;
            case "tcp_fin_timeout": s.FinTimeout = TimeSpan.FromSeconds(Int()); return;
            case "tcp_keepalive_time": s.KeepAliveTime = TimeSpan.FromSeconds(Int()); return;
            case "tcp_keepalive_intvl": s.KeepAliveInterval = TimeSpan.FromSeconds(Int()); return;
            case "tcp_keepalive_probes": s.KeepAliveProbes = Int(); return;
            case "tcp_syncookies": s.SynCookies = Int() is >= 0 and <= 2 ? Int() : throw new ScriptSkipException(Unsupported()); return;
            case "tcp_abort_on_overflow": s.AbortOnOverflow = Flag(); return;
            case "tcp_max_syn_backlog": s.MaxSynBacklog = Int(); return;
            case "tcp_rfc1337": s.Rfc1337 = Flag(); return;
            case "tcp_slow_start_after_idle": s.SlowStartAfterIdle = Flag(); return;
            case "tcp_notsent_lowat": s.NotSentLowWatermark = (int)Math.Min(Numbers(1)[0], int.MaxValue); return;
            case "tcp_min_snd_mss": s.MinSendMss = Int(); return;
            case "tcp_tso_win_divisor": s.TsoWinDivisor = Int() >= 0 ? Int() : throw new ScriptSkipException(Unsupported()); return;
            case "tcp_challenge_ack_limit": s.ChallengeAckLimit = Int(); return;
            case "tcp_early_retrans": // 3 and 4 (the default) probe tail losses (RFC 8985 §7); 0-2 do not, in today's Linux
                s.TailLossProbe = Int() is >= 0 and <= 4 ? Int() >= 3 : throw new ScriptSkipException(Unsupported());
                return;
            case "core.somaxconn": s.SoMaxConn = Int(); return;
            case "core.rmem_max": s.CoreReceiveBufferMax = Int(); return;
            case "core.wmem_max": s.CoreSendBufferMax = Int(); return;
            case "ip_local_port_range":
            {
                long[] v = Numbers(2);
                s.EphemeralLow = checked((int)v[0]);
                s.EphemeralHigh = checked((int)v[1]);
                return;
            }

            case "tcp_congestion_control":
                s.CongestionControl = value is "cubic" or "reno" ? value : throw new ScriptSkipException(Unsupported());
                return;
        }

        if (s_linuxNoOps.TryGetValue(knob, out string[]? accepted) &&
            (accepted is null || accepted.Any(a => NormaliseNumber(a) == NormaliseNumber(value))))
        {
            return;
        }

        throw new ScriptSkipException(Unsupported());
    }

    private static void SetFreeBsd(string key, string value, TcpSettings s, Func<string> unsupported)
    {
        switch (key)
        {
            case "net.inet.tcp.rexmit_initial":
                s.InitialRto = TimeSpan.FromMilliseconds(ParseLong(value, unsupported));
                return;
            case "net.inet.tcp.keepinit":
                s.ConnectTimeout = TimeSpan.FromMilliseconds(ParseLong(value, unsupported));
                return;
            case "net.inet.tcp.recvspace":
                s.ReceiveBufferDefault = checked((int)ParseLong(value, unsupported));
                return;
            case "net.inet.tcp.sendspace":
                s.SendBufferDefault = checked((int)ParseLong(value, unsupported));
                return;
            case "net.inet.tcp.rexmit_min":
                s.MinRto = TimeSpan.FromMilliseconds(ParseLong(value, unsupported));
                return;
            case "net.inet.tcp.delacktime":
                s.DelayedAck = TimeSpan.FromMilliseconds(ParseLong(value, unsupported));
                return;
        }

        if (s_freeBsdDefaults.TryGetValue(key, out string? def) && def == value)
        {
            return;
        }

        throw new ScriptSkipException(unsupported());
    }

    private static long ParseLong(string text, Func<string> unsupported)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) &&
            long.TryParse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long hex))
        {
            return hex;
        }

        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : throw new ScriptSkipException(unsupported());
    }

    private static string NormaliseNumber(string text) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && long.TryParse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long v)
            ? v.ToString(CultureInfo.InvariantCulture)
            : text.Trim();

    /// <summary>Evaluates shell arithmetic <c>$((32*1024*1024))</c> (integers, + - * /, parentheses-free).</summary>
    internal static string EvaluateArithmetic(string text) => ArithmeticPattern().Replace(text, m =>
    {
        string expr = m.Groups[1].Value.Replace(" ", "");
        return EvaluateSum(expr).ToString(CultureInfo.InvariantCulture);
    });

    private static long EvaluateSum(string expr)
    {
        long total = 0;
        int sign = 1;
        int start = 0;
        for (int i = 0; i <= expr.Length; i++)
        {
            if (i == expr.Length || ((expr[i] == '+' || expr[i] == '-') && i > start))
            {
                total += sign * EvaluateProduct(expr[start..i]);
                if (i < expr.Length)
                {
                    sign = expr[i] == '+' ? 1 : -1;
                }

                start = i + 1;
            }
        }

        return total;
    }

    private static long EvaluateProduct(string expr)
    {
        long value = 1;
        char op = '*';
        int start = 0;
        for (int i = 0; i <= expr.Length; i++)
        {
            if (i == expr.Length || expr[i] == '*' || expr[i] == '/')
            {
                long n = long.Parse(expr[start..i], CultureInfo.InvariantCulture);
                value = op == '*' ? value * n : value / n;
                if (i < expr.Length)
                {
                    op = expr[i];
                }

                start = i + 1;
            }
        }

        return value;
    }

    [GeneratedRegex(@"\$\(\(([0-9+\-*/ ]+)\)\)")]
    private static partial Regex ArithmeticPattern();

    /// <summary>Splits a command line into words, honouring quotes and dropping redirections.</summary>
    private static List<string> ShellWords(string command)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        char quote = '\0';
        bool inWord = false;
        foreach (char c in command)
        {
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(sb.ToString());
                    sb.Clear();
                    inWord = false;
                }
            }
            else
            {
                sb.Append(c);
                inWord = true;
            }
        }

        if (inWord)
        {
            words.Add(sb.ToString());
        }

        // "> /dev/null 2>&1" and friends
        var result = new List<string>();
        for (int i = 0; i < words.Count; i++)
        {
            string w = words[i];
            if (w is ">" or ">>" or "2>" or "<")
            {
                i++;
                continue;
            }

            if (w.StartsWith('>') || w.StartsWith("2>", StringComparison.Ordinal) || w == "2>&1")
            {
                continue;
            }

            if (w == "|")
            {
                throw new ScriptSkipException($"shell command `{command}`");
            }

            result.Add(w);
        }

        return result;
    }
}
