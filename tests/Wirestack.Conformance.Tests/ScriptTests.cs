using Wirestack.Stack;

namespace Wirestack.Conformance.Tests;

/// <summary>
/// The interpreter against the stack, on scripts written for these tests (Scripts/*.pkt). Each script says on its
/// first line what must happen: <c>// expect: pass</c>; <c>// expect: fail TEXT</c> (a deliberately wrong expectation:
/// the run must fail and the detail must contain TEXT); <c>// expect: stack-bug TEXT</c> (Linux behaviour the stack
/// does not have yet: it fails with TEXT today, and this test says so when the stack is fixed).
/// </summary>
public sealed class ScriptTests
{
    private static readonly string s_scripts = Path.Combine(AppContext.BaseDirectory, "Scripts");

    public static TheoryData<string> OwnScripts()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(s_scripts, "*.pkt").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    private static ScriptResult Run(string name, ConformanceOptions? options = null) =>
        PacketdrillRunner.Run(Path.Combine(s_scripts, name), options ?? new ConformanceOptions());

    private static ScriptResult RunText(string text, string path = "inline.pkt", ConformanceOptions? options = null) =>
        PacketdrillRunner.RunText(text, path, options ?? new ConformanceOptions());

    [Theory]
    [MemberData(nameof(OwnScripts))]
    public void OwnScript_HasTheOutcomeItsHeaderStates(string name)
    {
        string header = File.ReadLines(Path.Combine(s_scripts, name)).First();
        Assert.StartsWith("// expect: ", header);
        string[] parts = header["// expect: ".Length..].Split(' ', 2);
        ScriptResult result = Run(name);
        switch (parts[0])
        {
            case "pass":
                Assert.True(result.Outcome == ScriptOutcome.Pass, result.ToString());
                break;
            case "fail":
                Assert.True(result.Outcome == ScriptOutcome.Fail, $"{name} must fail, got {result}");
                Assert.Contains(parts[1], result.Detail);
                break;
            case "stack-bug":
                Assert.False(result.Outcome == ScriptOutcome.Pass,
                    $"{name} passes now: the stack bug it shows is fixed; change its header to '// expect: pass'");
                Assert.Equal(ScriptOutcome.Fail, result.Outcome);
                Assert.Contains(parts[1], result.Detail);
                break;
            default:
                Assert.Fail($"{name}: unknown expectation '{parts[0]}'");
                break;
        }
    }

    [Fact]
    public void BacklogOverflow_TheDroppedAckIsCountedAsAListenOverflow()
    {
        long overflows = -1, cookies = -1;
        ScriptResult result = Run("backlog-overflow.pkt", new ConformanceOptions
        {
            Inspect = stack =>
            {
                overflows = stack.Counters.Tcp.ListenOverflows;
                cookies = stack.Counters.Tcp.SyncookiesSent;
            },
        });
        Assert.True(result.Outcome == ScriptOutcome.Pass, result.ToString());
        Assert.Equal(1, overflows);
        Assert.Equal(1, cookies);
    }

    [Fact]
    public void FailureDetail_NamesTheLineTheExpectedValueTheActualPacketAndTheTime()
    {
        ScriptResult result = Run("fail-wrong-window.pkt");
        Assert.Equal(ScriptOutcome.Fail, result.Outcome);
        Assert.StartsWith("fail-wrong-window.pkt:7: window: expected 29200, actual 65535", result.Detail);
        Assert.Contains("stack sent 'S. 0:0(0) ack 1 win 65535 <mss 1460>' at 0.100000 s", result.Detail);
        Assert.Contains("192.168.0.1.8080 > 192.0.2.1.", result.Detail); // the tcpdump-style rendering of the datagram
        Assert.DoesNotContain('\n', result.Detail);
    }

    [Fact]
    public void ToleranceOption_OverridesTheScript()
    {
        Assert.Equal(ScriptOutcome.Fail, Run("fail-early-retransmit.pkt").Outcome);
        // 1 s early is within a 1.5 s tolerance
        Assert.Equal(ScriptOutcome.Pass, Run("fail-early-retransmit.pkt", new ConformanceOptions { ToleranceMicroseconds = 1_500_000 }).Outcome);
    }

    [Fact]
    public void Profile_ComesFromThePath()
    {
        const string script = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0\n";
        Assert.Equal(ScriptOutcome.Pass, RunText(script, "corpus/freebsd-tcp-testsuite/x/rcvbuf.pkt").Outcome);
        ScriptResult linux = RunText(script, "corpus/linux/rcvbuf.pkt");
        Assert.Equal(ScriptOutcome.Fail, linux.Outcome);
        Assert.Contains("SO_RCVBUF is 131072, expected [65536]", linux.Detail);
        Assert.Equal("freebsd", PacketdrillRunner.ProfileFor("a/freebsd-tcp-testsuite/b.pkt"));
        Assert.Equal("linux", PacketdrillRunner.ProfileFor("a/b.pkt"));
    }

    [Theory]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 splice(3, 4, 100) = 100", "system call splice() (line 2)")]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [1], 4) = 0", "socket option TCP_FASTOPEN (line 2)")]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 send(3, ..., 40, MSG_OOB) = 40", "send() flags MSG_OOB (line 2)")]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 recv(3, ..., 40, MSG_MORE) = 40", "recv() flags MSG_MORE (line 2)")]
    [InlineData("0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3", "socket type SOCK_DGRAM (TCP stream sockets only)")]
    [InlineData("0 < udp (1000)", "udp packets (line 1)")]
    [InlineData("0 > [ect0] S 0:0(0) <...>", "ECN codepoint [ect0] on a packet (line 1)")]
    [InlineData("0 > S 0:0(0) <mss 1460,md5 0011>", "TCP option 'md5' (line 1)")]
    [InlineData("--ip_version=ipv6\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3", "option --ip_version=ipv6")]
    [InlineData("0 `ss -tin`", "shell command `ss -tin`")]
    [InlineData("0 %{ print(tcpi_rtt) }%", "python code 'print(tcpi_rtt)'")]
    [InlineData("0 %{ assert tcpi_rcv_space == 1 }%", "TCP_INFO field tcpi_rcv_space (python assert)")]
    [InlineData("0 close(3 = 0", "unsupported syntax at inline.pkt:1: expected ')' at the end of the arguments of close")]
    public void UnsupportedFeatures_SkipNamingThem(string script, string feature)
    {
        ScriptResult result = RunText(script);
        Assert.Equal(ScriptOutcome.Skip, result.Outcome);
        Assert.StartsWith(feature[..Math.Min(feature.Length, 40)], result.Detail);
    }

    [Fact]
    public void BlockingCall_ThatNeverReturns_FailsNamingIt()
    {
        ScriptResult result = RunText("""
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0 bind(3, ..., ...) = 0
            +0 listen(3, 1) = 0
            +0...1 accept(3, ..., ...) = 4
            """);
        Assert.Equal(ScriptOutcome.Fail, result.Outcome);
        Assert.Contains("accept(3, ..., ...) still blocked at 3.125000 s, after the last event of the script; the script expects it to return at 1.000000 s", result.Detail);
    }

    [Fact]
    public void InboundTimestampEcho_MustMatchAnOutboundTsVal()
    {
        ScriptResult result = RunText("""
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0 bind(3, ..., ...) = 0
            +0 listen(3, 1) = 0
            +0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>
            +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 700 ecr 100,nop,wscale 7>
            +0 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 101 ecr 700>
            +0 accept(3, ..., ...) = 4
            +0 < . 1:1(0) ack 1 win 512 <nop,nop,TS val 102 ecr 999>
            """);
        Assert.Equal(ScriptOutcome.Fail, result.Outcome);
        Assert.Contains("inline.pkt:8: TS ecr 999 echoes no TS val of an earlier outbound packet", result.Detail);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("0 <")]
    [InlineData("0 > S. 0:0(0) ack")]
    [InlineData("+0 write(4, ..., 100) = 100")]
    [InlineData("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = 0\n+0 close(3) = 0")]
    [InlineData("\"unterminated")]
    [InlineData("0 > . 1:1(0) ack 1")]
    public void OddScripts_NeverThrow(string script)
    {
        ScriptResult result = RunText(script);
        Assert.NotNull(result.Detail);
        Assert.DoesNotContain("interpreter error", result.Detail);
    }

    [Fact]
    public void ConfigureStack_SeesTheScriptsSettings()
    {
        int synRetries = -1;
        RunText("`sysctl -q net.ipv4.tcp_syn_retries=3`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
            options: new ConformanceOptions { ConfigureStack = (NetStackOptions o) => synRetries = o.Tcp.SynRetries });
        Assert.Equal(3, synRetries);
    }

    [Fact]
    public void TcpInfoBytesAcked_CountsTheSynOfAnActiveOpenButNotTheSynAckOfAPassiveOne()
    {
        // Linux tp->bytes_acked grows with every advance of SND.UNA: the SYN-ACK acknowledges an active open's SYN;
        // a passive open's child socket starts with SND.UNA past its SYN-ACK.
        ScriptResult active = RunText("""
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
            +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
            +0 > S 0:0(0) <...>
            +0 < S. 0:0(0) ack 1 win 65535 <mss 1000>
            +0 > . 1:1(0) ack 1
            +.1 %{ assert tcpi_bytes_acked == 1 }%
            """);
        Assert.True(active.Outcome == ScriptOutcome.Pass, active.ToString());

        ScriptResult passive = RunText("""
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0 bind(3, ..., ...) = 0
            +0 listen(3, 1) = 0
            +0 < S 0:0(0) win 65535 <mss 1000>
            +0 > S. 0:0(0) ack 1 <...>
            +0 < . 1:1(0) ack 1 win 65535
            +0 accept(3, ..., ...) = 4
            +.1 %{ assert tcpi_bytes_acked == 0 }%
            """);
        Assert.True(passive.Outcome == ScriptOutcome.Pass, passive.ToString());
    }
}
