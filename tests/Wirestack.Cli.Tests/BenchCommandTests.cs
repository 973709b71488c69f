using System.Text.Json;
using Wirestack.Cli.Tests.Support;

namespace Wirestack.Cli.Tests;

/// <summary><c>wirestack bench --smoke</c>: every measurement runs for a moment, in-process, with no network
/// namespace, iperf3 or lwIP. Only that it completes and the shape of what it prints are checked, never a timing.</summary>
public sealed class BenchCommandTests
{
    [Fact]
    public void BenchSmoke_Json_HasEveryMeasurementWithItsBaselineAndTheMachine()
    {
        CliRun run = CliRun.Of("bench", "--smoke", "--json");

        Assert.True(run.ExitCode == 0, run.Stderr);
        JsonElement json = run.Json();
        Assert.Equal(["results", "machine", "mode", "notes"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("smoke", json.GetProperty("mode").GetString());

        JsonElement[] results = [.. json.GetProperty("results").EnumerateArray()];
        Assert.NotEmpty(results);
        foreach (JsonElement result in results)
        {
            Assert.Equal(["name", "unit", "wirestack", "baseline", "baseline_value", "ratio", "higher_is_better", "conditions"],
                result.EnumerateObject().Select(p => p.Name));
            Assert.False(string.IsNullOrWhiteSpace(result.GetProperty("name").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(result.GetProperty("unit").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(result.GetProperty("baseline").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(result.GetProperty("conditions").GetString()));
            Assert.Equal(JsonValueKind.Number, result.GetProperty("wirestack").ValueKind);
            JsonValueKind baseline = result.GetProperty("baseline_value").ValueKind;
            JsonValueKind ratio = result.GetProperty("ratio").ValueKind;
            Assert.Contains(baseline, new[] { JsonValueKind.Number, JsonValueKind.Null });
            Assert.Equal(baseline == JsonValueKind.Number ? JsonValueKind.Number : JsonValueKind.Null, ratio);
        }

        string[] names = [.. results.Select(r => r.GetProperty("name").GetString()!)];
        Assert.Contains("bulk, 1 connection, MTU 1500", names);
        Assert.Contains("bulk, 1 connection, MTU 65535", names);
        Assert.Contains("bulk, 16 connections, MTU 1500", names);
        Assert.Contains("bulk, 16 connections, MTU 65535", names);
        Assert.Contains(names, n => n.StartsWith("connection rate", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith("1-byte ping-pong round trip, median", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith("1-byte ping-pong round trip, p99", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith("memory per idle connection endpoint", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("over simulated 1 Gbit/s", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith("Internet checksum", StringComparison.Ordinal));

        JsonElement machine = json.GetProperty("machine");
        Assert.True(machine.GetProperty("cores").GetInt32() > 0);
        foreach (string key in new[] { "cpu", "os", "dotnet" })
        {
            Assert.False(string.IsNullOrWhiteSpace(machine.GetProperty(key).GetString()));
        }

        Assert.Equal(JsonValueKind.Number, machine.GetProperty("memory_bytes").ValueKind);
        Assert.Contains("bench [", run.Stderr); // progress goes to stderr as it goes
    }

    [Fact]
    public void BenchSmoke_OnlyLimits_PrintsTheTable()
    {
        CliRun run = CliRun.Of("bench", "--smoke", "--only", "limits");

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("Internet checksum, 64 KiB cache-hot", run.Stdout);
        Assert.Contains("memcpy (Span.CopyTo)", run.Stdout);
        Assert.Contains("ratio = Wirestack ÷ baseline", run.Stdout);
        Assert.DoesNotContain("bulk,", run.Stdout);
    }

    [Fact]
    public void BenchOnly_UnknownGroup_IsAUsageError()
    {
        CliRun run = CliRun.Of("bench", "--smoke", "--only", "everything");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
    }
}
