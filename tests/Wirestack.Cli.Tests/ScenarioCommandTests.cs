using System.Buffers.Binary;
using System.Text.Json;
using Wirestack.Cli.Tests.Support;

namespace Wirestack.Cli.Tests;

public sealed class ScenarioCommandTests
{
    [Fact]
    public void List_NamesEveryScenario()
    {
        CliRun run = CliRun.Of("scenario", "list");

        Assert.Equal(0, run.ExitCode);
        foreach (string name in new[] { "syn-timeout", "refused", "backlog-overflow", "broken-pipe", "udp-rcvbuf", "ring-overflow", "enobufs",
                     "half-open-limit", "big-send", "larval", "zero-window", "keepalive", "syn-flood" })
        {
            Assert.Contains(name, run.Stdout);
        }
    }

    [Fact]
    public void List_Json_HasNameAndDescription()
    {
        JsonElement json = CliRun.Of("scenario", "list", "--json").Json();

        JsonElement[] scenarios = json.GetProperty("scenarios").EnumerateArray().ToArray();
        Assert.Equal(13, scenarios.Length);
        Assert.Equal("syn-timeout", scenarios[0].GetProperty("name").GetString());
        Assert.All(scenarios, s => Assert.False(string.IsNullOrEmpty(s.GetProperty("description").GetString())));
    }

    [Fact]
    public void BacklogOverflow_Json_EventsErrorsAndCountersTellTheStory()
    {
        using var pcap = new TempFile("scenario.pcap");

        CliRun run = CliRun.Of("scenario", "backlog-overflow", "--json", "--pcap", pcap.Path);

        Assert.True(run.ExitCode == 0, run.Stderr);
        JsonElement json = run.Json();
        Assert.Equal("backlog-overflow", json.GetProperty("scenario").GetString());
        Assert.Equal(1, json.GetProperty("seed").GetInt32());
        JsonElement first = json.GetProperty("events")[0];
        Assert.Equal(0, first.GetProperty("t").GetDouble());
        Assert.Equal("server", first.GetProperty("host").GetString());
        Assert.Contains("listen(backlog 2)", first.GetProperty("what").GetString());
        JsonElement[] errors = json.GetProperty("errors").EnumerateArray().ToArray();
        Assert.Equal(3, errors.Length);
        Assert.All(errors, e =>
        {
            Assert.Equal("ConnectionReset", e.GetProperty("error").GetString());
            Assert.Equal("ECONNRESET", e.GetProperty("errno").GetString());
            Assert.Contains("reset by peer", e.GetProperty("explanation").GetString());
            Assert.True(e.GetProperty("t").GetDouble() > 100);
            Assert.StartsWith("c", e.GetProperty("socket").GetString());
        });
        JsonElement server = json.GetProperty("counters").GetProperty("server");
        Assert.True(server.GetProperty("TcpExt").GetProperty("ListenOverflows").GetInt64() >= 3);
        Assert.True(server.GetProperty("TcpExt").GetProperty("ListenDrops").GetInt64() >= 3);
        JsonElement listen = json.GetProperty("sockets")[0].GetProperty("sockets")[0];
        Assert.Equal("LISTEN", listen.GetProperty("state").GetString());
        Assert.Equal(3, listen.GetProperty("recv_q").GetInt64());
        Assert.True(json.GetProperty("passed").GetBoolean());
        Assert.Equal(pcap.Path, json.GetProperty("pcap").GetString());

        byte[] bytes = File.ReadAllBytes(pcap.Path);
        Assert.Equal(0xa1b23c4du, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
        Assert.Equal(json.GetProperty("pcap_packets").GetInt64(), CountRecords(bytes));
    }

    [Fact]
    public void Human_TellsTimelineSocketsCountersAndConclusion()
    {
        using var pcap = new TempFile("scenario.pcap");

        CliRun run = CliRun.Of("scenario", "syn-timeout", "--pcap", pcap.Path);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Stderr);
        Assert.Contains("[  63.000 s] client  socket: rexmit SYN #7", run.Stdout);
        Assert.Contains("ETIMEDOUT (TimedOut)", run.Stdout);
        Assert.Contains("why: connect timed out: 7 SYNs sent at 0,1,3,7,15,31,63 s to 10.0.0.2:80, no answer after 127 s", run.Stdout);
        Assert.Contains("TCPSynRetrans", run.Stdout);
        Assert.Contains("What it shows:", run.Stdout);
        Assert.Contains("All 4 expectations of the story held.", run.Stdout);
        Assert.Contains(pcap.Path, run.Stdout);
    }

    [Fact]
    public void SocketTable_PrintsLikeSs()
    {
        using var pcap = new TempFile("scenario.pcap");

        CliRun run = CliRun.Of("scenario", "keepalive", "--pcap", pcap.Path);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Netid State       Recv-Q  Send-Q  Local Address:Port  Peer Address:Port", run.Stdout);
        Assert.Matches(@"tcp   ESTAB +0 +0  10\.0\.0\.1:\d+ +10\.0\.0\.2:22 +timer:\(keepalive,5\.02s,0\) rto:210 rtt:10/5 cwnd:10 mss:1448", run.Stdout);
    }

    [Fact]
    public void SameSeed_SameJsonAndSamePcap()
    {
        using var first = new TempFile("a.pcap");
        using var second = new TempFile("b.pcap");

        string a = CliRun.Of("scenario", "larval", "--json", "--seed", "7", "--pcap", first.Path).Stdout;
        string b = CliRun.Of("scenario", "larval", "--json", "--seed", "7", "--pcap", second.Path).Stdout;

        Assert.Equal(a.Replace(first.Path, "PCAP", StringComparison.Ordinal), b.Replace(second.Path, "PCAP", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllBytes(first.Path), File.ReadAllBytes(second.Path));
    }

    [Fact]
    public void FreeBsdProfile_TimesOutAt75s()
    {
        using var pcap = new TempFile("scenario.pcap");

        JsonElement json = CliRun.Of("scenario", "syn-timeout", "--profile", "freebsd", "--json", "--pcap", pcap.Path).Json();

        Assert.Equal(75, json.GetProperty("facts").GetProperty("connect_s").GetDouble());
    }

    [Theory]
    [InlineData("unknown scenario 'nope'", "scenario", "nope")]
    [InlineData("--profile", "scenario", "refused", "--profile", "windows")]
    [InlineData("name a scenario", "scenario")]
    public void BadArguments_ExitTwoWithOneLineError(string expected, params string[] args)
    {
        CliRun run = CliRun.Of(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        string line = Assert.Single(run.StderrLines);
        Assert.StartsWith("wirestack", line);
        Assert.Contains(expected, line);
    }

    private static long CountRecords(byte[] pcap)
    {
        long count = 0;
        for (int offset = 24; offset + 16 <= pcap.Length; count++)
        {
            offset += 16 + (int)BinaryPrimitives.ReadUInt32LittleEndian(pcap.AsSpan(offset + 8));
        }

        return count;
    }
}
