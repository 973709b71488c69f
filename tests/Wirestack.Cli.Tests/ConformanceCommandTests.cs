using System.Text.Json;
using Wirestack.Cli.Tests.Support;

namespace Wirestack.Cli.Tests;

/// <summary><c>wirestack conformance</c> on small scripts written here.</summary>
public sealed class ConformanceCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("wirestack-conformance-").FullName;

    public ConformanceCommandTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        File.WriteAllText(Path.Combine(_dir, "a-pass.pkt"), "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = 0\n");
        File.WriteAllText(Path.Combine(_dir, "b-fail.pkt"), "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(3) = -1 EBADF\n");
        File.WriteAllText(Path.Combine(_dir, "sub", "c-skip.pkt"), "0 `ss -tin`\n");
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "not a script");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Directory_OneLinePerScriptThenTheSummary_ExitOneOnAFailure()
    {
        CliRun run = CliRun.Of("conformance", _dir);
        string[] lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal($"PASS {Path.Combine(_dir, "a-pass.pkt")}", lines[0]);
        Assert.StartsWith($"FAIL {Path.Combine(_dir, "b-fail.pkt")}: b-fail.pkt:2: close(3) returned 0, expected -1 EBADF", lines[1]);
        Assert.Equal($"SKIP {Path.Combine(_dir, "sub", "c-skip.pkt")}: shell command `ss -tin`", lines[2]);
        Assert.Equal("1 passed, 1 failed, 1 skipped", lines[3]);
        Assert.Equal(1, run.ExitCode);
    }

    [Fact]
    public void Json_ScriptsAndCounts()
    {
        JsonElement json = CliRun.Of("conformance", _dir, "--json").Json();
        Assert.Equal(1, json.GetProperty("passed").GetInt32());
        Assert.Equal(1, json.GetProperty("failed").GetInt32());
        Assert.Equal(1, json.GetProperty("skipped").GetInt32());
        JsonElement[] scripts = [.. json.GetProperty("scripts").EnumerateArray()];
        Assert.Equal(["pass", "fail", "skip"], scripts.Select(s => s.GetProperty("result").GetString()));
        Assert.Equal("shell command `ss -tin`", scripts[2].GetProperty("detail").GetString());
    }

    [Fact]
    public void ExpectedFailures_DoNotFailTheRun()
    {
        string list = Path.Combine(_dir, "expected.txt");
        File.WriteAllText(list, "# known\nb-fail.pkt  the script is wrong on purpose\n");
        CliRun run = CliRun.Of("conformance", Path.Combine(_dir, "a-pass.pkt"), Path.Combine(_dir, "b-fail.pkt"), "--expected-failures", list);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("[expected: the script is wrong on purpose]", run.Stdout);
        Assert.Contains("1 of the failures are expected", run.Stdout);
    }

    [Fact]
    public void Tolerance_OverridesTheScripts()
    {
        string script = Path.Combine(_dir, "late.pkt");
        File.WriteAllText(script, """
            0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
            +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
            +0 > S 0:0(0) <...>
            +1.5 > S 0:0(0) <...>
            """);
        Assert.Equal(1, CliRun.Of("conformance", script).ExitCode);
        Assert.Equal(0, CliRun.Of("conformance", script, "--tolerance-us", "600000").ExitCode);
    }

    [Theory]
    [InlineData("--tolerance-us", "-5")]
    [InlineData("--tolerance-us", "x")]
    public void BadArguments_AreUsageErrors(string option, string value)
    {
        CliRun run = CliRun.Of("conformance", _dir, option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("wirestack conformance: --tolerance-us: ", run.Stderr);
    }

    [Fact]
    public void MissingPath_IsAUsageError()
    {
        CliRun run = CliRun.Of("conformance", Path.Combine(_dir, "nope.pkt"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("nope.pkt: no such file or directory", run.Stderr);
    }
}
