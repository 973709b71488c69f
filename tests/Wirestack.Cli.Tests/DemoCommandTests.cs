using System.Buffers.Binary;
using System.Text.Json;
using Wirestack.Cli.Tests.Support;

namespace Wirestack.Cli.Tests;

public sealed class DemoCommandTests
{
    [Fact]
    public void Demo_Json_ExitsZeroWithDocumentedFieldsAndVerifiedTransfer()
    {
        using var pcap = new TempFile("demo.pcap");

        CliRun run = CliRun.Of("demo", "--json", "--pcap", pcap.Path);

        Assert.True(run.ExitCode == 0, run.Stderr);
        JsonElement json = run.Json();
        Assert.Equal(1, json.GetProperty("seed").GetInt32());
        JsonElement ping = json.GetProperty("ping");
        Assert.Equal(3, ping.GetProperty("sent").GetInt32());
        Assert.Equal(3, ping.GetProperty("received").GetInt32());
        Assert.All(ping.GetProperty("rtt_ms").EnumerateArray(), rtt => Assert.Equal(10.0, rtt.GetDouble()));
        Assert.True(json.GetProperty("udp").GetProperty("match").GetBoolean());
        JsonElement tcp = json.GetProperty("tcp");
        Assert.Equal(1024 * 1024, tcp.GetProperty("bytes").GetInt64());
        Assert.True(tcp.GetProperty("sha256_ok").GetBoolean());
        Assert.True(tcp.GetProperty("retransmits").GetInt64() >= 0);
        Assert.True(tcp.GetProperty("simulated_seconds").GetDouble() > 0);
        Assert.Equal(pcap.Path, json.GetProperty("pcap").GetString());
    }

    [Fact]
    public void Demo_Json_HttpsExchangeAnswered200OverTls13WithTheWholeBody()
    {
        using var pcap = new TempFile("demo.pcap");

        CliRun run = CliRun.Of("demo", "--json", "--pcap", pcap.Path);

        Assert.True(run.ExitCode == 0, run.Stderr);
        JsonElement http = run.Json().GetProperty("http");
        Assert.Equal(200, http.GetProperty("status").GetInt32());
        Assert.Equal("Tls13", http.GetProperty("tls").GetString());
        Assert.Equal(256 * 1024, http.GetProperty("bytes").GetInt64());
        Assert.True(http.GetProperty("verified").GetBoolean());
    }

    [Fact]
    public void Demo_Text_NarratesTheHttpsExchange()
    {
        using var pcap = new TempFile("demo.pcap");

        CliRun run = CliRun.Of("demo", "--pcap", pcap.Path);

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("GET https://server.wirestack/payload  →  HTTP/1.1 200, Tls13, 262,144 bytes", run.Stdout);
        Assert.Contains("The body is byte for byte what the endpoint served.", run.Stdout);
    }

    [Fact]
    public void Demo_Json_StoriesCarryErrnoAndTheStacksExplanation()
    {
        using var pcap = new TempFile("demo.pcap");

        JsonElement json = CliRun.Of("demo", "--json", "--pcap", pcap.Path).Json();

        JsonElement[] stories = json.GetProperty("stories").EnumerateArray().ToArray();
        Assert.Equal(["refused", "timeout"], stories.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal("ConnectionRefused", stories[0].GetProperty("error").GetString());
        Assert.Equal("ECONNREFUSED", stories[0].GetProperty("errno").GetString());
        Assert.Contains("RST,ACK", stories[0].GetProperty("explanation").GetString());
        Assert.Equal("ETIMEDOUT", stories[1].GetProperty("errno").GetString());
        Assert.Contains("7 SYNs sent at 0,1,3,7,15,31,63 s", stories[1].GetProperty("explanation").GetString());
        Assert.Equal(127.0, stories[1].GetProperty("simulated_seconds").GetDouble());
    }

    [Fact]
    public void Demo_Json_CountersTellTheStory()
    {
        using var pcap = new TempFile("demo.pcap");

        JsonElement counters = CliRun.Of("demo", "--json", "--pcap", pcap.Path).Json().GetProperty("counters");

        JsonElement alice = counters.GetProperty("alice");
        JsonElement bob = counters.GetProperty("bob");
        Assert.Equal(3, alice.GetProperty("Tcp").GetProperty("ActiveOpens").GetInt64());
        Assert.Equal(2, alice.GetProperty("Tcp").GetProperty("AttemptFails").GetInt64());
        Assert.Equal(6, alice.GetProperty("TcpExt").GetProperty("TCPSynRetrans").GetInt64());
        Assert.Equal(1, bob.GetProperty("Tcp").GetProperty("PassiveOpens").GetInt64());
        Assert.Equal(1, bob.GetProperty("Tcp").GetProperty("OutRsts").GetInt64());
        Assert.Equal(3, bob.GetProperty("Icmp").GetProperty("InEchos").GetInt64());
        Assert.Equal(1, bob.GetProperty("Udp").GetProperty("InDatagrams").GetInt64());
        Assert.True(counters.TryGetProperty("carol", out _));
    }

    [Fact]
    public void Demo_Pcap_ExistsAndStartsWithTheNanosecondMagic()
    {
        using var pcap = new TempFile("demo.pcap");

        CliRun run = CliRun.Of("demo", "--json", "--pcap", pcap.Path);

        Assert.Equal(0, run.ExitCode);
        byte[] bytes = File.ReadAllBytes(pcap.Path);
        Assert.True(bytes.Length > 24 + 16 * 100, $"only {bytes.Length} bytes");
        Assert.Equal(0xa1b23c4du, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
        Assert.Equal(101u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(20))); // LINKTYPE_RAW
    }

    [Fact]
    public void Demo_Human_NarratesEachPartWithVirtualTimestamps()
    {
        using var pcap = new TempFile("demo.pcap");

        CliRun run = CliRun.Of("demo", "--pcap", pcap.Path);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Stderr);
        Assert.Contains("[   0.010 s] bob → alice    echo reply    icmp_seq=1  time=10 ms", run.Stdout);
        Assert.Contains("Identical: every byte arrived", run.Stdout);
        Assert.Contains("ECONNREFUSED", run.Stdout);
        Assert.Contains("SYN 7 reaches carol, 63 s after the first", run.Stdout);
        Assert.Contains("connect failed after 127 s: ETIMEDOUT", run.Stdout);
        Assert.Contains("RetransSegs", run.Stdout);
        Assert.Contains(pcap.Path, run.Stdout);
    }

    [Fact]
    public void Demo_SameSeed_SameJson()
    {
        using var first = new TempFile("demo.pcap");
        using var second = new TempFile("demo.pcap");

        string a = CliRun.Of("demo", "--json", "--seed", "5", "--pcap", first.Path).Stdout;
        string b = CliRun.Of("demo", "--json", "--seed", "5", "--pcap", second.Path).Stdout;

        Assert.Equal(a.Replace(first.Path, "PCAP", StringComparison.Ordinal), b.Replace(second.Path, "PCAP", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllBytes(first.Path), File.ReadAllBytes(second.Path));
    }
}
