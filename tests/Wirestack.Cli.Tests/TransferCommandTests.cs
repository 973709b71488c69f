using System.Text.Json;
using System.Text.Json.Nodes;
using Wirestack.Cli.Tests.Support;

namespace Wirestack.Cli.Tests;

public sealed class TransferCommandTests
{
    private static readonly string[] s_lossy = ["transfer", "--bytes", "2MB", "--loss", "2%", "--seed", "7", "--json"];

    [Fact]
    public void Transfer_TwoMegabytesWithLoss_HashesEqualAndRetransmits()
    {
        CliRun run = CliRun.Of(s_lossy);

        Assert.True(run.ExitCode == 0, run.Stderr);
        JsonElement json = run.Json();
        Assert.Equal(
            ["bytes_sent", "bytes_received", "sha256_sent", "sha256_received", "simulated_seconds", "wall_seconds", "retransmits", "counters"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(2_000_000, json.GetProperty("bytes_sent").GetInt64());
        Assert.Equal(2_000_000, json.GetProperty("bytes_received").GetInt64());
        Assert.Equal(json.GetProperty("sha256_sent").GetString(), json.GetProperty("sha256_received").GetString());
        Assert.Matches("^[0-9a-f]{64}$", json.GetProperty("sha256_sent").GetString());
        long retransmits = json.GetProperty("retransmits").GetInt64();
        Assert.True(retransmits > 0);
        Assert.Equal(retransmits, json.GetProperty("counters").GetProperty("a").GetProperty("Tcp").GetProperty("RetransSegs").GetInt64());
        Assert.True(json.GetProperty("simulated_seconds").GetDouble() > 0);
    }

    [Fact]
    public void Transfer_SameSeedTwice_IdenticalJsonExceptWallSeconds()
    {
        JsonObject first = JsonNode.Parse(CliRun.Of(s_lossy).Stdout)!.AsObject();
        JsonObject second = JsonNode.Parse(CliRun.Of(s_lossy).Stdout)!.AsObject();

        first.Remove("wall_seconds");
        second.Remove("wall_seconds");
        Assert.Equal(first.ToJsonString(), second.ToJsonString());
    }

    [Fact]
    public void Transfer_DifferentSeed_DifferentPayloadAndLosses()
    {
        JsonElement a = CliRun.Of("transfer", "--bytes", "200kB", "--loss", "2%", "--seed", "1", "--json").Json();
        JsonElement b = CliRun.Of("transfer", "--bytes", "200kB", "--loss", "2%", "--seed", "2", "--json").Json();

        Assert.NotEqual(a.GetProperty("sha256_sent").GetString(), b.GetProperty("sha256_sent").GetString());
    }

    [Theory]
    [InlineData("--reorder", "5%")]
    [InlineData("--dup", "5%")]
    [InlineData("--corrupt", "1%")]
    [InlineData("--rate", "10Mbit")]
    [InlineData("--mtu", "576")]
    [InlineData("--jitter", "2ms")]
    public void Transfer_UnderEachImpairment_DeliversIdenticalBytes(string option, string value)
    {
        CliRun run = CliRun.Of("transfer", "--bytes", "300kB", option, value, "--seed", "4", "--json");

        Assert.True(run.ExitCode == 0, run.Stderr);
        JsonElement json = run.Json();
        Assert.Equal(300_000, json.GetProperty("bytes_received").GetInt64());
        Assert.Equal(json.GetProperty("sha256_sent").GetString(), json.GetProperty("sha256_received").GetString());
    }

    [Fact]
    public void Transfer_RateLimited_TakesAtLeastTheSerializationTime()
    {
        JsonElement json = CliRun.Of("transfer", "--bytes", "1MB", "--rate", "10Mbit", "--json").Json();

        Assert.True(json.GetProperty("simulated_seconds").GetDouble() >= 0.8); // 8 Mbit of payload at 10 Mbit/s
    }

    [Fact]
    public void Transfer_Human_SummarisesThroughputAndWallTime()
    {
        CliRun run = CliRun.Of("transfer", "--bytes", "1MiB", "--delay", "2ms");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("identical", run.Stdout);
        Assert.Contains("s simulated (", run.Stdout);
        Assert.Contains("s wall", run.Stdout);
        Assert.Contains("delay 2 ms", run.Stdout);
    }

    [Fact]
    public void Transfer_TotalLoss_ExitsOneWithTheSocketErrorAndItsCause()
    {
        CliRun run = CliRun.Of("transfer", "--bytes", "10kB", "--loss", "100%");

        Assert.Equal(1, run.ExitCode);
        Assert.Single(run.StderrLines);
        Assert.Contains("ETIMEDOUT", run.Stderr);
        Assert.Contains("7 SYNs sent", run.Stderr);
    }

    [Fact]
    public void Transfer_Pcap_WritesTheCapture()
    {
        using var pcap = new TempFile("t.pcap");

        CliRun run = CliRun.Of("transfer", "--bytes", "100kB", "--pcap", pcap.Path, "--json");

        Assert.Equal(0, run.ExitCode);
        run.Json(); // stdout is still nothing but the JSON object
        Assert.True(new FileInfo(pcap.Path).Length > 100_000);
        Assert.Contains(pcap.Path, run.Stderr);
    }

    [Fact]
    public void Transfer_PcapInMissingDirectory_ExitsOne()
    {
        using var dir = new TempFile("x");

        CliRun run = CliRun.Of("transfer", "--bytes", "1kB", "--pcap", Path.Combine(dir.Path, "no", "such", "t.pcap"));

        Assert.Equal(1, run.ExitCode);
        Assert.Single(run.StderrLines);
    }
}
