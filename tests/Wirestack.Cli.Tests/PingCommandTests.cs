using System.Text.Json;
using Wirestack.Cli.Tests.Support;

namespace Wirestack.Cli.Tests;

public sealed class PingCommandTests
{
    [Fact]
    public void Ping_CountThreeJson_SentThreeReceivedThree()
    {
        CliRun run = CliRun.Of("ping", "--count", "3", "--json");

        Assert.Equal(0, run.ExitCode);
        JsonElement json = run.Json();
        Assert.Equal(3, json.GetProperty("sent").GetInt32());
        Assert.Equal(3, json.GetProperty("received").GetInt32());
        Assert.Equal([10.0, 10.0, 10.0], json.GetProperty("rtt_ms").EnumerateArray().Select(e => e.GetDouble()));
        JsonElement icmp = json.GetProperty("counters").GetProperty("Icmp");
        Assert.Equal(3, icmp.GetProperty("OutEchos").GetInt64());
        Assert.Equal(3, icmp.GetProperty("InEchoReps").GetInt64());
    }

    [Fact]
    public void Ping_Human_PrintsLikePing8()
    {
        CliRun run = CliRun.Of("ping", "--count", "2");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("64 bytes from 10.0.0.2: icmp_seq=1 time=10.0 ms", run.Stdout);
        Assert.Contains("2 packets transmitted, 2 received, 0% packet loss", run.Stdout);
        Assert.Contains("rtt min/avg/max/mdev = 10.000/10.000/10.000/0.000 ms", run.Stdout);
    }

    [Fact]
    public void Ping_TotalLoss_ExitsOneAndSaysNoReply()
    {
        CliRun run = CliRun.Of("ping", "--count", "2", "--loss", "100%");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("2 packets transmitted, 0 received, 100% packet loss", run.Stdout);
        Assert.Contains("no reply", run.Stderr);
    }

    [Fact]
    public void Ping_PartialLoss_CountsWhatCameBack()
    {
        JsonElement json = CliRun.Of("ping", "--count", "20", "--loss", "30%", "--seed", "3", "--json").Json();

        int received = json.GetProperty("received").GetInt32();
        Assert.Equal(20, json.GetProperty("sent").GetInt32());
        Assert.InRange(received, 1, 19);
        Assert.Equal(received, json.GetProperty("rtt_ms").GetArrayLength());
    }
}
