using System.Reflection;
using System.Text.RegularExpressions;

namespace Wirestack.Interop.Tests.Support;

/// <summary>Where the built CLI is, and helpers to read what it prints.</summary>
public static partial class WirestackCli
{
    /// <summary>Wirestack.Cli.dll of the same configuration as this test assembly.</summary>
    public static string CliPath { get; } = Path.GetFullPath(typeof(WirestackCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "WirestackCli").Value!);

    /// <summary>The dotnet host that runs the tests (the SDK sets DOTNET_HOST_PATH), else dotnet on the PATH.</summary>
    public static string DotnetHost { get; } = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
        ? host
        : Tools.Find("dotnet") ?? "dotnet";

    /// <summary>The SHA-256 a `serve --source` prints at start.</summary>
    public static string SourceSha(Proc server) =>
        SourceLine().Match(server.WaitForLine(l => l.StartsWith("source:", StringComparison.Ordinal), TimeSpan.FromSeconds(5), "the source line")).Groups[1].Value;

    [GeneratedRegex("sha256 ([0-9a-f]{64})")]
    private static partial Regex SourceLine();
}
