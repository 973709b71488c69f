namespace Wirestack.Conformance.Tests;

/// <summary>The lexer and parser on small scripts written for these tests.</summary>
public sealed class ParserTests
{
    private static Script Parse(string text) => Parser.Parse(text, "t.pkt");

    private static T Single<T>(string text) where T : ScriptEvent => Assert.IsType<T>(Assert.Single(Parse(text).Events));

    [Fact]
    public void Lexer_DotsAfterNumbersAreFlagsOrEllipses_NotFloats()
    {
        List<Token> tokens = Lexer.Tokenize("+.1...0.200 1...6 S. -1 0x2 .5", "t.pkt");
        Assert.Equal(["+", ".1", "...", "0.200", "1", "...", "6", "S", ".", "-1", "0x2", ".5", ""], tokens.Select(t => t.Text));
        Assert.False(tokens[8].SpaceBefore); // the '.' of "S." touches the S
        Assert.Equal(2, tokens[10].Integer);
        Assert.Equal(500_000, tokens[11].Microseconds);
    }

    [Fact]
    public void Lexer_SkipsBothCommentStylesAndCountsLines()
    {
        List<Token> tokens = Lexer.Tokenize("// one\n/* two\nthree */ x // four\n  y", "t.pkt");
        Assert.Equal([("x", 3), ("y", 4)], tokens.Where(t => t.Kind == TokenKind.Word).Select(t => (t.Text, t.Line)));
    }

    [Theory]
    [InlineData("0 close(3) = 0", "Absolute", 0L, null, null)]
    [InlineData("0.100 close(3) = 0", "Absolute", 100_000L, null, null)]
    [InlineData("+.1 close(3) = 0", "Relative", 100_000L, null, null)]
    [InlineData("+ 0.00 close(3) = 0", "Relative", 0L, null, null)]
    [InlineData("+.1...0.200 close(3) = 0", "Relative", 100_000L, null, 200_000L)]
    [InlineData("1.00...6.00 close(3) = 0", "Absolute", 1_000_000L, null, 6_000_000L)]
    [InlineData("+.3~+.400 > F. 1:1(0) ack 1", "Relative", 300_000L, 400_000L, null)]
    [InlineData("* > F. 1:1(0) ack 1", "Any", 0L, null, null)]
    public void Times_AllForms(string line, string kind, long start, long? rangeEnd, long? blockingEnd)
    {
        TimeSpec time = Assert.Single(Parse(line).Events).Time;
        Assert.Equal(kind, time.Kind.ToString());
        Assert.Equal(start, time.Start);
        Assert.Equal(rangeEnd, time.RangeEnd);
        Assert.Equal(blockingEnd, time.BlockingEnd);
    }

    [Fact]
    public void InboundPacket_AllFields()
    {
        var p = Single<PacketEvent>("0.100 < S. 0:0(0) ack 1 win 5792 <mss 1460,sackOK,TS val 700 ecr 100,nop,wscale 7>");
        Assert.Equal(Direction.Inbound, p.Direction);
        Assert.Equal("S.", p.Flags);
        Assert.Equal((0u, 0u, 0), (p.Start, p.End, p.Length));
        Assert.Equal(1u, p.Ack);
        Assert.Equal((ushort)5792, p.Window);
        Assert.Equal(["mss 1460", "sackOK", "TS val 700 ecr 100", "nop", "wscale 7"], p.Options!.Select(o => o.ToString()));
        Assert.False(p.AnyOptions);
    }

    [Fact]
    public void OutboundPacket_AnyOptions_NoWindow_NoAck()
    {
        var p = Single<PacketEvent>("+0 > R 2:2(0)");
        Assert.Equal(Direction.Outbound, p.Direction);
        Assert.Null(p.Ack);
        Assert.Null(p.Window);
        Assert.Null(p.Options);

        var any = Single<PacketEvent>("+0 > S. 0:0(0) ack 1 <...>");
        Assert.True(any.AnyOptions);
    }

    [Fact]
    public void Packet_FlagsSackBlocksPortsAndUrgent()
    {
        var p = Single<PacketEvent>("+0 < 40001>8080 FP. 1001:2001(1000) ack 1 win 257 urg 3 <sack 1:4001 5001:6001, nop, nop>");
        Assert.Equal(((ushort)40001, (ushort)8080), p.Ports);
        Assert.Equal("FP.", p.Flags);
        Assert.Equal((ushort)3, p.Urgent);
        Assert.Equal([1L, 4001, 5001, 6001], p.Options![0].Values);

        Assert.Equal("-", Single<PacketEvent>("+0 < - 1:1001(1000) win 20000").Flags);
    }

    [Fact]
    public void Syscall_ResultErrnoAndNote()
    {
        var s = Single<SyscallEvent>("+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
        Assert.Equal("connect", s.Name);
        Assert.Equal(3, s.Args.Count);
        Assert.IsType<EllipsisExpr>(s.Args[1]);
        Assert.Equal(-1, Assert.IsType<IntExpr>(s.Result).Value);
        Assert.Equal("EINPROGRESS", s.Errno);

        var f = Single<SyscallEvent>("0.000 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)");
        Assert.Equal(2, Assert.IsType<IntExpr>(f.Result).Value);
        Assert.Null(f.Errno);
    }

    [Fact]
    public void Syscall_StructuresListsAndBitOrAcrossLines()
    {
        var poll = Single<SyscallEvent>("+0 poll([{fd=4,\n events=POLLIN|POLLOUT,\n revents=POLLOUT}], 1, 1000) = 1");
        StructExpr fd = Assert.IsType<StructExpr>(Assert.IsType<ListExpr>(poll.Args[0]).Items[0]);
        Assert.Equal(4, ScriptRun.Evaluate(fd.Field("fd")!));
        Assert.Equal(0x5, ScriptRun.Evaluate(fd.Field("events")!));

        var linger = Single<SyscallEvent>("+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0");
        Assert.Equal(1, ScriptRun.Evaluate(((StructExpr)linger.Args[3]).Field("onoff")!));

        var err = Single<SyscallEvent>("+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0");
        Assert.Equal(111, ScriptRun.Evaluate(err.Args[3]));

        var flags = Single<SyscallEvent>("+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0");
        Assert.Equal(0x802, ScriptRun.Evaluate(flags.Args[2]));
    }

    [Fact]
    public void OptionsInitEventsCodeAndCleanup()
    {
        Script script = Parse("""
            --tolerance_usecs=10000
            `../common/defaults.sh`
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0 `sysctl -q net.ipv4.tcp_sack=1`
            +0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%
            `/tmp/sysctl_restore_${PPID}.sh`
            """);
        Assert.Equal(new ScriptOption("tolerance_usecs", "10000", 1), Assert.Single(script.Options));
        Assert.Equal("../common/defaults.sh", Assert.Single(script.InitCommands).Text);
        Assert.Collection(script.Events,
            e => Assert.IsType<SyscallEvent>(e),
            e => Assert.Equal("sysctl -q net.ipv4.tcp_sack=1", Assert.IsType<ShellEvent>(e).Command),
            e => Assert.Contains("tcpi_snd_cwnd", Assert.IsType<CodeEvent>(e).Code));
        Assert.Single(script.CleanupCommands);
    }

    [Fact]
    public void Defines_ReplaceWords()
    {
        var s = Single<SyscallEvent>("--define=CODE=42\n0 close(CODE) = 0");
        Assert.Equal(42, Assert.IsType<IntExpr>(s.Args[0]).Value);
    }

    [Theory]
    [InlineData("0 < S 0:10(0) win 1", "does not match its length")]
    [InlineData("0 < S 0:0(0)", "inbound packets need 'win N'")]
    [InlineData("0 < S 0:0(0) win 1 <...>", "only allowed on outbound")]
    [InlineData("* close(3) = 0", "only allowed on outbound packets")]
    [InlineData("0 close(3)", "expected '='")]
    public void MalformedScripts_AreSyntaxErrorsWithTheLine(string text, string message)
    {
        var e = Assert.Throws<ScriptSyntaxException>(() => Parse(text));
        Assert.Contains(message, e.Message);
        Assert.Equal(1, e.Line);
    }

    [Fact]
    public void SourceText_DropsCommentsAndCollapsesSpaces()
    {
        var s = Single<SyscallEvent>("+0...0.300   write(4, ...,  61000) = 61000    // this write() blocks");
        Assert.Equal("+0...0.300 write(4, ..., 61000) = 61000", s.Source);
    }
}
