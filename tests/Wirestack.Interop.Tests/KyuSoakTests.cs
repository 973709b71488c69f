using System.Text.RegularExpressions;
using Wirestack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace Wirestack.Interop.Tests;

/// <summary>
/// Seed 002, the Kyu soak: back-to-back 200 KB transfers from a server to ncat clients, each one verified, none
/// allowed to hang. Kyu crashed after a few hundred to a few thousand; here a python driver in the namespace runs
/// ncat once per transfer with a 10 s bound each and a bound on the whole run.
/// </summary>
public sealed partial class KyuSoakTests(ITestOutputHelper output)
{
    private const int Transfers = 1000;
    private const int Bytes = 200_000;

    private const string Driver = """
        import hashlib, subprocess, sys, time
        n, expected, addr, port, budget = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
        size = int(sys.argv[6])
        start = time.monotonic(); fails = 0; slowest = 0.0
        for i in range(n):
            t = time.monotonic()
            try:
                p = subprocess.run(["ncat", "--recv-only", addr, port], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
            except subprocess.TimeoutExpired:
                print(f"transfer {i}: HUNG, no end of stream within 10 s", flush=True); sys.exit(2)
            d = time.monotonic() - t; slowest = max(slowest, d)
            h = hashlib.sha256(p.stdout).hexdigest()
            if p.returncode != 0 or len(p.stdout) != size or h != expected:
                fails += 1
                print(f"transfer {i}: exit {p.returncode}, {len(p.stdout)} bytes, sha256 {h}, stderr {p.stderr!r}", flush=True)
            if time.monotonic() - start > budget:
                print(f"over the {budget} s budget after {i + 1} transfers", flush=True); sys.exit(3)
        print(f"done: {n} transfers, {fails} failed, {time.monotonic() - start:.1f} s, slowest {slowest:.3f} s", flush=True)
        sys.exit(1 if fails else 0)
        """;

    [InteropFact("ncat", "python3")]
    public void Soak_1000BackToBack200KBTransfers_AllVerifiedNoneHangs()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using var files = new TestFiles();
        File.WriteAllText(files.PathOf("soak.py"), Driver);
        using Proc server = ns.Serve("--port", "114", "--source", Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "--stats");
        string expected = WirestackCli.SourceSha(server);

        ProcessResult soak = ns.Run(TimeSpan.FromSeconds(300), "python3", files.PathOf("soak.py"), Transfers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            expected, Netns.WirestackAddress, "114", "280", Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture));

        output.WriteLine(soak.Stdout);
        Assert.True(soak.ExitCode == 0, soak.ToString());
        Assert.Contains($"done: {Transfers} transfers, 0 failed", soak.Stdout);
        ProcessResult stopped = server.Terminate(TimeSpan.FromSeconds(20));
        Assert.Contains($"{Transfers} connections accepted", stopped.Stdout);
        Assert.Equal(Transfers, SentLine().Matches(stopped.Stdout).Count);
        Assert.DoesNotContain(": error after", stopped.Stdout);
        // Nothing left but TIME-WAIT (Wirestack closed first) and the listener: no connection stuck half-way.
        string table = stopped.Stdout[stopped.Stdout.IndexOf("sockets (ss -tanoi style):", StringComparison.Ordinal)..];
        Assert.DoesNotMatch("(?m)^\\s*tcp\\s+(ESTAB|FIN-WAIT-1|FIN-WAIT-2|CLOSE-WAIT|LAST-ACK|CLOSING|SYN-RECV) ", table);
        output.WriteLine(string.Join('\n', stopped.Stdout.Split('\n').Where(l => !SentLine().IsMatch(l)).Take(80)));
    }

    [GeneratedRegex(@": sent \d+ bytes in")]
    private static partial Regex SentLine();
}
