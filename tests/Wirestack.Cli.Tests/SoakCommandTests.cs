using System.Text.Json;
using Wirestack.Cli.Tests.Support;

namespace Wirestack.Cli.Tests;

public sealed class SoakCommandTests
{
    [Fact]
    public void Soak_FewTransfersWithoutSack_JsonCountsEveryTransferAndBudgetIsZero()
    {
        CliRun run = CliRun.Of("soak", "--count", "20", "--loss", "2%", "--no-sack", "--json");

        Assert.True(run.ExitCode == 0, run.Stderr);
        JsonElement json = run.Json();
        Assert.Equal(
            ["count", "ok", "failed", "bytes", "simulated_seconds", "wall_seconds", "retransmits", "budget_in_use_end", "connections_left", "failures"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(20, json.GetProperty("count").GetInt32());
        Assert.Equal(20, json.GetProperty("ok").GetInt32());
        Assert.Equal(0, json.GetProperty("failed").GetInt32());
        Assert.Equal(20L * 200 * 1024, json.GetProperty("bytes").GetInt64());
        Assert.True(json.GetProperty("retransmits").GetInt64() > 0);
        Assert.Equal(0, json.GetProperty("budget_in_use_end").GetInt64());
        Assert.True(json.GetProperty("simulated_seconds").GetDouble() > 0);
    }

    [Fact]
    public void Soak_HumanOutput_SaysWhatRanAndTheBudgetAtTheEnd()
    {
        CliRun run = CliRun.Of("soak", "--count", "3", "--bytes", "20KiB", "--no-sack", "--seed", "5");

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("3 transfers of", run.Stdout);
        Assert.Contains("3 ok, 0 failed", run.Stdout);
        Assert.Contains("0 bytes of budget in use, 0 connections left", run.Stdout);
        Assert.Equal("", run.Stderr); // no progress bar when stderr is not the terminal
    }

    [Fact]
    public void Soak_CountZero_IsAUsageError()
    {
        CliRun run = CliRun.Of("soak", "--count", "0");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--count", run.Stderr);
    }
}
