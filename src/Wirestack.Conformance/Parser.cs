namespace Wirestack.Conformance;

/// <summary>Builds a <see cref="Script"/> from tokens (spec §1-§4). The grammar is token driven: a statement ends where
/// the next timestamp begins, so statements may span lines.</summary>
internal sealed class Parser
{
    private static readonly HashSet<string> s_outerHeaders = ["udp", "udplite", "icmp", "ipv4", "ipv6", "gre", "mpls", "encap", "psp"];

    private readonly List<Token> _tokens;
    private readonly string _file;
    private readonly string[] _lines;
    private int _p;

    private Parser(List<Token> tokens, string file, string text)
    {
        _tokens = tokens;
        _file = file;
        _lines = text.Split('\n');
    }

    /// <summary>Parses a script; <paramref name="defines"/> are <c>-D NAME=VALUE</c> substitutions from the caller.</summary>
    public static Script Parse(string text, string file, IReadOnlyDictionary<string, string>? defines = null)
    {
        List<Token> tokens = Lexer.Tokenize(text, file);
        var substitutions = new Dictionary<string, string>(defines ?? new Dictionary<string, string>());
        foreach (Token t in tokens.TakeWhile(t => t.Kind == TokenKind.Option))
        {
            (string name, string? value) = SplitOption(t.Text);
            if (name == "define" && value is not null && value.IndexOf('=') is > 0 and int eq)
            {
                substitutions.TryAdd(value[..eq], value[(eq + 1)..]);
            }
        }

        if (substitutions.Count > 0)
        {
            for (int i = 0; i < tokens.Count; i++)
            {
                Token t = tokens[i];
                if (t.Kind == TokenKind.Word && substitutions.TryGetValue(t.Text, out string? v))
                {
                    TokenKind kind = v.StartsWith('"') ? TokenKind.String : long.TryParse(v, out _) ? TokenKind.Integer : TokenKind.Word;
                    tokens[i] = t with { Kind = kind, Text = v.Trim('"') };
                }
            }
        }

        return new Parser(tokens, file, text).ParseScript();
    }

    internal static (string Name, string? Value) SplitOption(string text)
    {
        string body = text.TrimStart('-');
        int eq = body.IndexOf('=');
        return eq < 0 ? (body, null) : (body[..eq], body[(eq + 1)..]);
    }

    private Token Cur => _tokens[_p];

    private Token Peek(int n = 1) => _tokens[Math.Min(_p + n, _tokens.Count - 1)];

    private Token Take() => _tokens[_p++];

    private ScriptSyntaxException Error(string message, Token? at = null) =>
        new(_file, (at ?? Cur).Line, message);

    private Token Expect(char c, string context)
    {
        if (!Cur.Is(c))
        {
            throw Error($"expected '{c}' {context}, found {Cur}");
        }

        return Take();
    }

    private long ExpectInteger(string context)
    {
        if (Cur.Kind != TokenKind.Integer)
        {
            throw Error($"expected a number {context}, found {Cur}");
        }

        return Take().Integer;
    }

    /// <summary>The event's first line as written, without a trailing comment and with spaces collapsed, for messages.</summary>
    private string SourceLine(int line)
    {
        string text = line - 1 < _lines.Length ? _lines[line - 1] : "";
        int comment = text.IndexOf("//", StringComparison.Ordinal);
        if (comment >= 0)
        {
            text = text[..comment];
        }

        return string.Join(' ', text.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries));
    }

    private Script ParseScript()
    {
        var script = new Script { File = _file };
        while (Cur.Kind == TokenKind.Option)
        {
            Token t = Take();
            (string name, string? value) = SplitOption(t.Text);
            script.Options.Add(new ScriptOption(name, value, t.Line));
        }

        while (Cur.Kind == TokenKind.Backquote)
        {
            Token t = Take();
            script.InitCommands.Add(new ShellCommand(t.Text, t.Line));
        }

        while (Cur.Kind != TokenKind.End)
        {
            if (Cur.Kind == TokenKind.Backquote)
            {
                Token t = Take();
                script.CleanupCommands.Add(new ShellCommand(t.Text, t.Line));
                continue;
            }

            if (script.CleanupCommands.Count > 0)
            {
                throw Error("event after the cleanup command");
            }

            if (Cur.Kind == TokenKind.Option)
            {
                throw Error($"option {Cur.Text} after the first event");
            }

            script.Events.Add(ParseEvent());
        }

        return script;
    }

    private ScriptEvent ParseEvent()
    {
        int line = Cur.Line;
        TimeSpec time = ParseTime();
        string source = SourceLine(line);
        Token t = Cur;
        if (t.Is('<') || t.Is('>'))
        {
            if (time.IsBlocking)
            {
                throw Error("'...' is only for system calls");
            }

            return ParsePacket(line, time, source);
        }

        if (time.Kind == TimeKind.Any || time.IsRange)
        {
            throw Error($"time '{time}' is only allowed on outbound packets");
        }

        if (t.Kind == TokenKind.Backquote)
        {
            Take();
            return new ShellEvent(line, time, source, t.Text);
        }

        if (t.Kind == TokenKind.Code)
        {
            Take();
            return new CodeEvent(line, time, source, t.Text);
        }

        if (t.Kind == TokenKind.Word && Peek().Is('('))
        {
            return ParseSyscall(line, time, source);
        }

        throw Error($"expected a packet, system call or command after the time, found {t}");
    }

    private TimeSpec ParseTime()
    {
        if (Cur.Is('*'))
        {
            Take();
            return new TimeSpec(TimeKind.Any, 0, null, false, null);
        }

        bool relative = false;
        if (Cur.Is('+'))
        {
            Take();
            relative = true;
        }

        if (!Cur.IsNumber)
        {
            throw Error($"expected a time, found {Cur}");
        }

        long start = Take().Microseconds;
        long? rangeEnd = null;
        bool rangeRelative = false;
        long? blockingEnd = null;
        if (Cur.Is('~'))
        {
            Take();
            if (Cur.Is('+'))
            {
                Take();
                rangeRelative = true;
            }

            if (!Cur.IsNumber)
            {
                throw Error($"expected the end of a time range, found {Cur}");
            }

            rangeEnd = Take().Microseconds;
        }
        else if (Cur.Kind == TokenKind.Ellipsis)
        {
            Take();
            if (!Cur.IsNumber)
            {
                throw Error($"expected the end time of a blocking call after '...', found {Cur}");
            }

            blockingEnd = Take().Microseconds;
        }

        return new TimeSpec(relative ? TimeKind.Relative : TimeKind.Absolute, start, rangeEnd, rangeRelative, blockingEnd);
    }

    // ---- packets -----------------------------------------------------------------------------------------------------

    private PacketEvent ParsePacket(int line, TimeSpec time, string source)
    {
        Direction direction = Take().Is('<') ? Direction.Inbound : Direction.Outbound;
        string? unsupported = null;

        if (Cur.Kind == TokenKind.Word && s_outerHeaders.Contains(Cur.Text))
        {
            throw new ScriptSkipException($"{Cur.Text} packets (line {Cur.Line})");
        }

        // ip_info: [ect0] [ect1] [ce] [noecn] [ect01], (tos 0x..), (flowlabel 0x..), (ttl N)
        while (Cur.Is('[') || (Cur.Is('(') && Peek().Kind == TokenKind.Word))
        {
            bool bracket = Cur.Is('[');
            Take();
            string what = Cur.Text;
            while (!Cur.Is(bracket ? ']' : ')') && Cur.Kind != TokenKind.End)
            {
                Take();
            }

            Take();
            unsupported ??= bracket ? $"ECN codepoint [{what}] on a packet" : $"IP header field ({what} ...) on a packet";
        }

        (ushort, ushort)? ports = null;
        if (Cur.Kind == TokenKind.Integer && Peek().Is('>') && Peek(2).Kind == TokenKind.Integer)
        {
            ushort sport = checked((ushort)Take().Integer);
            Take();
            ushort dport = checked((ushort)Take().Integer);
            ports = (sport, dport);
        }

        string flags = ParseFlags();
        uint start = (uint)ExpectInteger("for the start sequence number");
        Expect(':', "in START:END(LEN)");
        uint end = (uint)ExpectInteger("for the end sequence number");
        Expect('(', "in START:END(LEN)");
        int length = checked((int)ExpectInteger("for the payload length"));
        Expect(')', "in START:END(LEN)");
        if (unchecked(start + (uint)length) != end)
        {
            throw Error($"sequence range {start}:{end} does not match its length ({length})");
        }

        uint? ack = null;
        ushort? window = null;
        ushort urgent = 0;
        List<TcpOptionSpec>? options = null;
        bool anyOptions = false;
        while (true)
        {
            if (Cur.IsWord("ack"))
            {
                Take();
                ack = (uint)ExpectInteger("after 'ack'");
            }
            else if (Cur.IsWord("win"))
            {
                Take();
                window = checked((ushort)ExpectInteger("after 'win'"));
            }
            else if (Cur.IsWord("urg"))
            {
                Take();
                urgent = checked((ushort)ExpectInteger("after 'urg'"));
            }
            else if (Cur.Is('<'))
            {
                Take();
                if (Cur.Kind == TokenKind.Ellipsis)
                {
                    Take();
                    Expect('>', "after '<...'");
                    anyOptions = true;
                    options = [];
                }
                else
                {
                    (options, string? bad) = ParseOptions();
                    unsupported ??= bad;
                }
            }
            else
            {
                break;
            }
        }

        if (anyOptions && direction == Direction.Inbound)
        {
            throw Error("'<...>' is only allowed on outbound packets");
        }

        if (window is null && direction == Direction.Inbound)
        {
            throw Error("inbound packets need 'win N'");
        }

        return new PacketEvent(line, time, source)
        {
            Direction = direction,
            Ports = ports,
            Flags = flags,
            Start = start,
            End = end,
            Length = length,
            Ack = ack,
            Window = window,
            Urgent = urgent,
            Options = options,
            AnyOptions = anyOptions,
            Unsupported = unsupported,
        };
    }

    /// <summary>Flags are adjacent tokens: <c>S.</c> lexes as word S and punctuation '.'.</summary>
    private string ParseFlags()
    {
        Token first = Cur;
        if (!(first.Kind is TokenKind.Word or TokenKind.Integer || first.Is('.') || first.Is('-')))
        {
            throw Error($"expected TCP flags, found {first}");
        }

        string flags = Take().Text;
        while ((Cur.Kind is TokenKind.Word or TokenKind.Integer || Cur.Is('.')) && !Cur.SpaceBefore)
        {
            flags += Take().Text;
        }

        if (flags != "-" && flags.Any(c => !".FSRPEWAU01234567".Contains(c)))
        {
            throw Error($"unknown TCP flags '{flags}'", first);
        }

        return flags;
    }

    private (List<TcpOptionSpec> Options, string? Unsupported) ParseOptions()
    {
        var options = new List<TcpOptionSpec>();
        string? unsupported = null;
        while (true)
        {
            if (Cur.Kind != TokenKind.Word)
            {
                throw Error($"expected a TCP option, found {Cur}");
            }

            string kind = Take().Text;
            switch (kind)
            {
                case "nop":
                case "eol":
                case "sackOK":
                    options.Add(new TcpOptionSpec(kind, []));
                    break;
                case "mss":
                case "wscale":
                    options.Add(new TcpOptionSpec(kind, [ExpectInteger($"after '{kind}'")]));
                    break;
                case "sack":
                {
                    var values = new List<long>();
                    while (Cur.Kind == TokenKind.Integer)
                    {
                        values.Add(Take().Integer);
                        Expect(':', "in a SACK block L:R");
                        values.Add(ExpectInteger("for the right edge of a SACK block"));
                    }

                    if (values.Count == 0)
                    {
                        throw Error("'sack' needs at least one block L:R");
                    }

                    options.Add(new TcpOptionSpec(kind, [.. values]));
                    break;
                }

                case "TS":
                {
                    if (!Cur.IsWord("val"))
                    {
                        throw Error("expected 'TS val N ecr N'");
                    }

                    Take();
                    long val = ExpectInteger("after 'TS val'");
                    if (!Cur.IsWord("ecr"))
                    {
                        throw Error("expected 'ecr' after 'TS val N'");
                    }

                    Take();
                    long ecr = ExpectInteger("after 'ecr'");
                    options.Add(new TcpOptionSpec(kind, [val, ecr]));
                    break;
                }

                default:
                    // md5, FO, FOEXP, ECN, exp, mptcp ...: named for the skip, its arguments passed over.
                    unsupported ??= $"TCP option '{kind}'";
                    while (!Cur.Is(',') && !Cur.Is('>') && Cur.Kind != TokenKind.End)
                    {
                        Take();
                    }

                    break;
            }

            if (Cur.Is(','))
            {
                Take();
                continue;
            }

            Expect('>', "at the end of the TCP options");
            return (options, unsupported);
        }
    }

    // ---- system calls ------------------------------------------------------------------------------------------------

    private SyscallEvent ParseSyscall(int line, TimeSpec time, string source)
    {
        string name = Take().Text;
        Expect('(', $"after {name}");
        var args = new List<Expr>();
        if (!Cur.Is(')'))
        {
            while (true)
            {
                args.Add(ParseExpr());
                if (Cur.Is(','))
                {
                    Take();
                    continue;
                }

                break;
            }
        }

        Expect(')', $"at the end of the arguments of {name}");
        Expect('=', $"before the expected result of {name}");
        Expr result = ParseExpr();
        string? errno = null;
        if (Cur.Kind == TokenKind.Word)
        {
            errno = Take().Text;
        }

        if (Cur.Is('('))
        {
            // the free-text note, e.g. "(Operation now in progress)" or "(flags O_RDWR)"
            int depth = 0;
            do
            {
                if (Cur.Is('('))
                {
                    depth++;
                }
                else if (Cur.Is(')'))
                {
                    depth--;
                }
                else if (Cur.Kind == TokenKind.End)
                {
                    throw Error("unterminated note after a system call");
                }

                Take();
            }
            while (depth > 0);
        }

        return new SyscallEvent(line, time, source) { Name = name, Args = args, Result = result, Errno = errno };
    }

    private Expr ParseExpr()
    {
        Expr first = ParsePrimary();
        if (!Cur.Is('|'))
        {
            return first;
        }

        var terms = new List<Expr> { first };
        while (Cur.Is('|'))
        {
            Take();
            terms.Add(ParsePrimary());
        }

        return new OrExpr(terms);
    }

    private Expr ParsePrimary()
    {
        Token t = Cur;
        switch (t.Kind)
        {
            case TokenKind.Integer:
                Take();
                return new IntExpr(t.Integer);
            case TokenKind.Ellipsis:
                Take();
                return new EllipsisExpr();
            case TokenKind.String:
                Take();
                return new StringExpr(t.Text);
            case TokenKind.Word:
                Take();
                if (Cur.Is('('))
                {
                    Take();
                    var args = new List<Expr>();
                    while (!Cur.Is(')'))
                    {
                        args.Add(ParseExpr());
                        if (Cur.Is(','))
                        {
                            Take();
                        }
                        else if (!Cur.Is(')'))
                        {
                            throw Error($"expected ',' or ')' in {t.Text}(...), found {Cur}");
                        }
                    }

                    Take();
                    return new CallExpr(t.Text, args);
                }

                return new SymbolExpr(t.Text);
        }

        if (t.Is('['))
        {
            Take();
            var items = new List<Expr>();
            while (!Cur.Is(']'))
            {
                items.Add(ParseExpr());
                if (Cur.Is(','))
                {
                    Take();
                }
                else if (!Cur.Is(']'))
                {
                    throw Error($"expected ',' or ']' in a list, found {Cur}");
                }
            }

            Take();
            return new ListExpr(items);
        }

        if (t.Is('{'))
        {
            Take();
            var fields = new List<(string?, Expr)>();
            while (!Cur.Is('}'))
            {
                if (Cur.Kind == TokenKind.Word && (Peek().Is('=') || (Peek().Is('(') && IsFieldWithArgs())))
                {
                    string name = Take().Text;
                    if (Cur.Is('('))
                    {
                        // msg_iov(1)=[...]: the count is implied by the list
                        while (!Cur.Is(')'))
                        {
                            Take();
                        }

                        Take();
                    }

                    Expect('=', $"after field {name}");
                    fields.Add((name, ParseExpr()));
                }
                else
                {
                    fields.Add((null, ParseExpr()));
                }

                if (Cur.Is(','))
                {
                    Take();
                }
                else if (!Cur.Is('}'))
                {
                    throw Error($"expected ',' or '}}' in a structure, found {Cur}");
                }
            }

            Take();
            return new StructExpr(fields);
        }

        throw Error($"unexpected {t} in a system call");
    }

    /// <summary><c>name(args)=value</c> inside braces (msghdr fields) as opposed to a call expression.</summary>
    private bool IsFieldWithArgs()
    {
        int depth = 0;
        for (int i = _p + 1; i < _tokens.Count; i++)
        {
            Token t = _tokens[i];
            if (t.Is('('))
            {
                depth++;
            }
            else if (t.Is(')'))
            {
                depth--;
                if (depth == 0)
                {
                    return i + 1 < _tokens.Count && _tokens[i + 1].Is('=');
                }
            }
            else if (t.Kind == TokenKind.End)
            {
                return false;
            }
        }

        return false;
    }
}

/// <summary>The script uses something the interpreter or the stack does not support; the message names it.</summary>
internal sealed class ScriptSkipException(string feature) : Exception(feature)
{
    public string Feature { get; } = feature;
}

/// <summary>The stack did not do what the script expects; the message is the first difference.</summary>
internal sealed class ScriptFailException(string detail) : Exception(detail)
{
    public string Detail { get; } = detail;
}
