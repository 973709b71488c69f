using Wirestack.Cli.Tests.Support;

namespace Wirestack.Cli.Tests;

/// <summary>Bad arguments: exit code 2, one line on stderr that says what is wrong, nothing on stdout.</summary>
public sealed class UsageTests
{
    [Theory]
    [InlineData("'-5' is negative", "transfer", "--bytes", "-5")]
    [InlineData("'150%' is more than 100%", "ping", "--loss", "150%")]
    [InlineData("unknown command or argument 'frobnicate'", "frobnicate")]
    [InlineData("--bytes' is required", "transfer")]
    [InlineData("--count: '0' is less than 1", "ping", "--count", "0")]
    [InlineData("--delay: '20' needs a unit", "transfer", "--bytes", "1MB", "--delay", "20")]
    [InlineData("--rate: '10Mbps' has an unknown unit", "transfer", "--bytes", "1MB", "--rate", "10Mbps")]
    [InlineData("--mtu: '40' is out of range", "transfer", "--bytes", "1MB", "--mtu", "40")]
    [InlineData("--bytes: '1.5B' is not a whole number of bytes", "transfer", "--bytes", "1.5B")]
    [InlineData("--loss: '-1%' is negative", "transfer", "--bytes", "1MB", "--loss", "-1%")]
    [InlineData("--seed: 'x' is not a whole number", "demo", "--seed", "x")]
    [InlineData("unknown command or argument '--frob'", "ping", "--frob")]
    [InlineData("no command given", new string[0])]
    [InlineData("give exactly one of --echo, --discard, --source BYTES, --http DIR, --https DIR", "tun", "serve", "--addr", "10.77.0.2/24", "--port", "5001")]
    [InlineData("--https needs --cert FILE", "tun", "serve", "--addr", "10.77.0.2/24", "--port", "443", "--https", "site")]
    [InlineData("--addr: '10.77.0.2' needs a prefix length", "tun", "serve", "--addr", "10.77.0.2", "--port", "5001", "--echo")]
    [InlineData("--addr' is required", "tun", "serve", "--port", "5001", "--echo")]
    [InlineData("--to: '10.77.0.1' is not IPv4-ADDRESS:PORT", "tun", "connect", "--addr", "10.77.0.2/24", "--to", "10.77.0.1", "--send", "1MB")]
    [InlineData("give exactly one of --send BYTES, --get PATH", "tun", "connect", "--addr", "10.77.0.2/24", "--to", "10.77.0.1:80")]
    [InlineData("--mtu: '70000' is out of range", "tun", "ping", "--addr", "10.77.0.2/24", "--to", "10.77.0.1", "--mtu", "70000")]
    [InlineData("wirestack tun serve: --dev: 'this-name-is-too-long' is not a valid interface name", "tun", "serve", "--dev", "this-name-is-too-long", "--addr", "10.77.0.2/24", "--port", "7", "--echo")]
    [InlineData("wirestack tun ping: --dev: 'a/b' is not a valid interface name", "tun", "ping", "--dev", "a/b", "--addr", "10.77.0.2/24", "--to", "10.77.0.1")]
    [InlineData("--async serves --echo, --discard and --source only", "tun", "serve", "--addr", "10.77.0.2/24", "--port", "80", "--http", "site", "--async")]
    public void BadArguments_ExitTwoWithOneLineError(string expected, params string[] args)
    {
        CliRun run = CliRun.Of(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        string line = Assert.Single(run.StderrLines);
        Assert.StartsWith("wirestack", line);
        Assert.Contains(expected, line);
    }

    [Fact]
    public void Help_ExitsZeroAndListsTheCommands()
    {
        CliRun run = CliRun.Of("--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("demo", run.Stdout);
        Assert.Contains("ping", run.Stdout);
        Assert.Contains("transfer", run.Stdout);
    }
}
