using System.Globalization;
using System.Text.RegularExpressions;
using Wirestack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace Wirestack.Interop.Tests;

/// <summary>Kernel clients (ncat, curl, ping) against Wirestack servers over a TUN device; every payload checked
/// with SHA-256 end to end.</summary>
public sealed partial class KernelClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_transfer = TimeSpan.FromSeconds(120);

    [InteropFact("ping")]
    public void Ping_KernelPingsWirestack_AllAnswered()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using Proc server = ns.Serve("--port", "5001", "--discard");

        ProcessResult ping = ns.Run(TimeSpan.FromSeconds(20), "ping", "-c", "5", "-i", "0.2", "-W", "2", Netns.WirestackAddress);

        Assert.True(ping.ExitCode == 0, ping.ToString());
        Assert.Contains("5 packets transmitted, 5 received", ping.Stdout);
        output.WriteLine(ping.Stdout);
    }

    [InteropTheory("ncat")]
    [InlineData(1_000_000, 1500)]
    [InlineData(100_000_000, 1500)]
    [InlineData(100_000_000, 65535)]
    public void Ncat_EchoServer_ReturnsEveryByte(long bytes, int mtu)
    {
        using var ns = Netns.Create(output);
        ns.AddTun(mtu: mtu);
        using var files = new TestFiles();
        string sent = files.Random("in.bin", bytes);
        using Proc server = ns.Serve("--port", "5001", "--echo", "--mtu", Text(mtu), "--stats");

        ProcessResult ncat = ns.Shell(s_transfer, $"ncat {Netns.WirestackAddress} 5001 < {files.PathOf("in.bin")} > {files.PathOf("out.bin")}");

        Assert.True(ncat.ExitCode == 0, ncat.ToString());
        Assert.Equal(bytes, files.Length("out.bin"));
        Assert.Equal(sent, files.Sha256("out.bin"));
        ProcessResult stopped = server.Terminate(TimeSpan.FromSeconds(15));
        Assert.Contains($"echoed {bytes} bytes", stopped.Stdout);
        Report(ncat, bytes * 2, stopped);
    }

    [InteropTheory("ncat")]
    [InlineData(1_000_000)]
    [InlineData(100_000_000)]
    public void Ncat_SendsToDiscardServer_ServerSeesTheSameSha(long bytes)
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using var files = new TestFiles();
        string sent = files.Random("in.bin", bytes);
        using Proc server = ns.Serve("--port", "5001", "--discard", "--stats");

        ProcessResult ncat = ns.Shell(s_transfer, $"ncat --send-only {Netns.WirestackAddress} 5001 < {files.PathOf("in.bin")}");

        Assert.True(ncat.ExitCode == 0, ncat.ToString());
        server.WaitForLine(l => l.Contains("received", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the received line");
        ProcessResult stopped = server.Terminate(TimeSpan.FromSeconds(15));
        Assert.Contains($"received {bytes} bytes, sha256 {sent}", stopped.Stdout);
        Report(ncat, bytes, stopped);
    }

    [InteropTheory("ncat")]
    [InlineData(1_000_000)]
    [InlineData(100_000_000)]
    public void Ncat_ReceivesFromSourceServer_SameShaAsServerPrinted(long bytes)
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using var files = new TestFiles();
        using Proc server = ns.Serve("--port", "5001", "--source", Text(bytes), "--stats");
        string expected = WirestackCli.SourceSha(server);

        ProcessResult ncat = ns.Shell(s_transfer, $"ncat --recv-only {Netns.WirestackAddress} 5001 > {files.PathOf("out.bin")}");

        Assert.True(ncat.ExitCode == 0, ncat.ToString());
        Assert.Equal(bytes, files.Length("out.bin"));
        Assert.Equal(expected, files.Sha256("out.bin"));
        Report(ncat, bytes, server.Terminate(TimeSpan.FromSeconds(15)));
    }

    /// <summary>
    /// An async send parked for buffer space is moved on inline when an ACK frees space. It once ran before the stack
    /// had taken that ACK's window, so its segments used the old window against the new SND.UNA and landed beyond the
    /// kernel's window (the kernel drops them: TcpExtBeyondWindow). The kernel must count none.
    /// </summary>
    [InteropFact("ncat")]
    public void Serve_AsyncSource_NoSegmentBeyondTheKernelsWindow()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using Proc server = ns.Serve("--port", "5001", "--source", "20MB", "--async", "--stats");
        string expected = WirestackCli.SourceSha(server);
        ns.Run(TimeSpan.FromSeconds(10), "nstat", "-n");

        // A reader that starts late, so the kernel's window fills and moves as the data drains.
        ProcessResult ncat = ns.Shell(s_transfer, $"ncat --recv-only {Netns.WirestackAddress} 5001 | (sleep 0.3; sha256sum)");
        ProcessResult nstat = ns.Run(TimeSpan.FromSeconds(10), "nstat", "-az", "TcpExtBeyondWindow");

        Assert.True(ncat.ExitCode == 0, ncat.ToString());
        Assert.StartsWith(expected, ncat.Stdout);
        output.WriteLine(nstat.Stdout);
        Assert.Matches(@"TcpExtBeyondWindow\s+0\s", nstat.Stdout);
    }

    [InteropTheory("curl")]
    [InlineData(1500)]
    [InlineData(65535)]
    public void Curl_FetchesFilesOverHttp_1KBTo100MB(int mtu)
    {
        using var ns = Netns.Create(output);
        ns.AddTun(mtu: mtu);
        using var files = new TestFiles();
        var sizes = new long[] { 1_000, 65_536, 1_000_000, 10_000_000, 100_000_000 };
        Dictionary<string, string> shas = sizes.ToDictionary(s => $"f{s}", s => files.Random($"f{s}", s));
        using Proc server = ns.Serve("--port", "8080", "--http", files.Directory, "--mtu", Text(mtu), "--stats");

        foreach (long size in sizes)
        {
            string name = $"f{size}";
            ProcessResult curl = ns.Run(s_transfer, "curl", "-sS", "--fail", "--max-time", "100", "-o", files.PathOf(name + ".got"),
                "-w", "%{http_code} %{size_download} %{speed_download}\n", $"http://{Netns.WirestackAddress}:8080/{name}");
            Assert.True(curl.ExitCode == 0, curl.ToString());
            Assert.StartsWith($"200 {size} ", curl.Stdout);
            Assert.Equal(shas[name], files.Sha256(name + ".got"));
            output.WriteLine($"  {name}: {curl.Stdout.Trim()} (code, bytes, bytes/s) in {curl.Elapsed.TotalSeconds:0.000} s");
        }

        ProcessResult missing = ns.Run(TimeSpan.FromSeconds(20), "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", $"http://{Netns.WirestackAddress}:8080/nothing-here");
        Assert.Equal("404", missing.Stdout.Trim());
        output.WriteLine(server.Terminate(TimeSpan.FromSeconds(15)).Stdout);
    }

    [InteropFact("curl", "openssl")]
    public void Curl_FetchesFilesOverHttps_SelfSignedCertificate()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using var files = new TestFiles();
        var sizes = new long[] { 1_000, 1_000_000, 100_000_000 };
        Dictionary<string, string> shas = sizes.ToDictionary(s => $"f{s}", s => files.Random($"f{s}", s));
        string cert = files.PathOf("cert.pem");
        string key = files.PathOf("key.pem");
        ProcessResult made = Proc.Run(TimeSpan.FromSeconds(30), "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", $"/CN={Netns.WirestackAddress}");
        Assert.True(made.ExitCode == 0, made.ToString());
        using Proc server = ns.Serve("--port", "8443", "--https", files.Directory, "--cert", cert, "--key", key, "--stats");

        foreach (long size in sizes)
        {
            string name = $"f{size}";
            ProcessResult curl = ns.Run(s_transfer, "curl", "-sS", "-k", "--fail", "--max-time", "100", "-o", files.PathOf(name + ".got"),
                "-w", "%{http_code} %{size_download} %{speed_download} %{ssl_verify_result}\n", $"https://{Netns.WirestackAddress}:8443/{name}");
            Assert.True(curl.ExitCode == 0, curl.ToString());
            Assert.StartsWith($"200 {size} ", curl.Stdout);
            Assert.Equal(shas[name], files.Sha256(name + ".got"));
            output.WriteLine($"  {name}: {curl.Stdout.Trim()} in {curl.Elapsed.TotalSeconds:0.000} s");
        }

        ProcessResult verbose = ns.Run(TimeSpan.FromSeconds(20), "curl", "-sS", "-k", "-v", "-o", "/dev/null", $"https://{Netns.WirestackAddress}:8443/f1000");
        Assert.Matches("SSL connection using TLSv1\\.[23]", verbose.Stderr);
        output.WriteLine(server.Terminate(TimeSpan.FromSeconds(15)).Stdout);
    }

    private void Report(ProcessResult client, long bytes, ProcessResult server)
    {
        double seconds = client.Elapsed.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{bytes} bytes through the kernel client in {seconds:0.000} s ({bytes * 8 / seconds / 1e6:0} Mbit/s, process start included)"));
        output.WriteLine(server.Stdout);
        Match retrans = RetransLine().Match(server.Stdout);
        if (retrans.Success)
        {
            output.WriteLine($"Wirestack retransmitted {retrans.Groups[1].Value} segments");
        }
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"RetransSegs\s+(\d+)")]
    private static partial Regex RetransLine();
}
