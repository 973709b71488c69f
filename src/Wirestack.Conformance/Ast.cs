namespace Wirestack.Conformance;

/// <summary>A parsed script (spec §1): options, an optional init command, timed events, an optional cleanup command.</summary>
internal sealed class Script
{
    public required string File { get; init; }

    public List<ScriptOption> Options { get; } = [];

    /// <summary>Back-quoted commands without a timestamp before the first event.</summary>
    public List<ShellCommand> InitCommands { get; } = [];

    public List<ScriptEvent> Events { get; } = [];

    /// <summary>Back-quoted commands without a timestamp after the last event.</summary>
    public List<ShellCommand> CleanupCommands { get; } = [];
}

internal sealed record ScriptOption(string Name, string? Value, int Line);

internal sealed record ShellCommand(string Text, int Line);

internal enum TimeKind
{
    Absolute,
    Relative,
    /// <summary><c>*</c>: any time (outbound packets only).</summary>
    Any,
}

/// <summary>When an event happens (spec §2): <c>T</c>, <c>+T</c>, <c>*</c>, <c>T1~T2</c>, or for a blocking call
/// <c>T...E</c> (E on the same base as T).</summary>
internal sealed record TimeSpec(TimeKind Kind, long Start, long? RangeEnd, bool RangeEndRelative, long? BlockingEnd)
{
    public bool IsRange => RangeEnd is not null;

    public bool IsBlocking => BlockingEnd is not null;

    public override string ToString()
    {
        string Fmt(long us, bool rel) => (rel ? "+" : "") + (us / 1e6).ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);
        if (Kind == TimeKind.Any)
        {
            return "*";
        }

        string s = Fmt(Start, Kind == TimeKind.Relative);
        if (RangeEnd is { } end)
        {
            s += "~" + Fmt(end, RangeEndRelative);
        }

        if (BlockingEnd is { } b)
        {
            s += "..." + Fmt(b, false);
        }

        return s;
    }
}

internal abstract record ScriptEvent(int Line, TimeSpec Time, string Source);

internal enum Direction
{
    Inbound,
    Outbound,
}

/// <summary>One TCP option of a packet line, in the order written.</summary>
internal sealed record TcpOptionSpec(string Kind, long[] Values)
{
    public override string ToString() => Kind switch
    {
        "nop" or "eol" or "sackOK" => Kind,
        "TS" => $"TS val {Values[0]} ecr {Values[1]}",
        "sack" => "sack " + string.Join(' ', Enumerable.Range(0, Values.Length / 2).Select(i => $"{Values[2 * i]}:{Values[2 * i + 1]}")),
        _ => $"{Kind} {string.Join(' ', Values)}",
    };
}

/// <summary>A TCP packet line (spec §4).</summary>
internal sealed record PacketEvent(int Line, TimeSpec Time, string Source) : ScriptEvent(Line, Time, Source)
{
    public Direction Direction { get; init; }

    /// <summary>Explicit <c>SPORT&gt;DPORT</c>, as written (inbound: remote&gt;local; outbound: local&gt;remote).</summary>
    public (ushort Source, ushort Destination)? Ports { get; init; }

    public required string Flags { get; init; }

    public uint Start { get; init; }

    public uint End { get; init; }

    public int Length { get; init; }

    public uint? Ack { get; init; }

    public ushort? Window { get; init; }

    public ushort Urgent { get; init; }

    /// <summary>Null: no options at all. Empty with <see cref="AnyOptions"/>: <c>&lt;...&gt;</c>.</summary>
    public List<TcpOptionSpec>? Options { get; init; }

    public bool AnyOptions { get; init; }

    /// <summary>A construct the interpreter does not support (ECN codepoints, TOS, ...), named for the skip.</summary>
    public string? Unsupported { get; init; }
}

/// <summary>A system call line (spec §3): <c>name(args) = result [ERRNO] [(note)]</c>.</summary>
internal sealed record SyscallEvent(int Line, TimeSpec Time, string Source) : ScriptEvent(Line, Time, Source)
{
    public required string Name { get; init; }

    public required List<Expr> Args { get; init; }

    public required Expr Result { get; init; }

    public string? Errno { get; init; }
}

internal sealed record ShellEvent(int Line, TimeSpec Time, string Source, string Command) : ScriptEvent(Line, Time, Source);

internal sealed record CodeEvent(int Line, TimeSpec Time, string Source, string Code) : ScriptEvent(Line, Time, Source);

/// <summary>System-call argument expressions.</summary>
internal abstract record Expr;

internal sealed record IntExpr(long Value) : Expr
{
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

internal sealed record SymbolExpr(string Name) : Expr
{
    public override string ToString() => Name;
}

internal sealed record StringExpr(string Value) : Expr
{
    public override string ToString() => $"\"{Value}\"";
}

/// <summary><c>...</c>: the interpreter fills the value in.</summary>
internal sealed record EllipsisExpr : Expr
{
    public override string ToString() => "...";
}

/// <summary><c>A|B|C</c>.</summary>
internal sealed record OrExpr(List<Expr> Terms) : Expr
{
    public override string ToString() => string.Join('|', Terms);
}

/// <summary><c>[v, ...]</c>: a pointer to an int, or an array.</summary>
internal sealed record ListExpr(List<Expr> Items) : Expr
{
    public override string ToString() => "[" + string.Join(", ", Items) + "]";
}

/// <summary><c>{name=value, ...}</c> or <c>{..., 100}</c>.</summary>
internal sealed record StructExpr(List<(string? Name, Expr Value)> Fields) : Expr
{
    public Expr? Field(string name) => Fields.FirstOrDefault(f => f.Name == name).Value;

    public override string ToString() => "{" + string.Join(", ", Fields.Select(f => f.Name is null ? f.Value.ToString() : $"{f.Name}={f.Value}")) + "}";
}

/// <summary><c>htons(8080)</c>, <c>inet_addr("1.2.3.4")</c>, <c>msg_iov(1)</c>.</summary>
internal sealed record CallExpr(string Name, List<Expr> Args) : Expr
{
    public override string ToString() => $"{Name}({string.Join(", ", Args)})";
}
