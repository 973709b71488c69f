using System.Globalization;
using System.Text.Json;
using Wirestack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace Wirestack.Interop.Tests;

/// <summary>Wirestack clients (`wirestack tun connect` and `tun ping`) against kernel servers: ncat -l,
/// python3 -m http.server, openssl s_server; payloads checked with SHA-256.</summary>
public sealed class WirestackClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_run = TimeSpan.FromSeconds(120);

    [InteropFact]
    public void Ping_WirestackPingsKernel_AllAnswered()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();

        ProcessResult ping = Finish(ns.StartWirestack("ping", "--dev", "tun0", "--addr", Netns.WirestackCidr, "--to", Netns.KernelAddress,
            "--count", "5", "--interval", "200ms", "--stats"));

        Assert.True(ping.ExitCode == 0, ping.ToString());
        Assert.Contains("5 packets transmitted, 5 received", ping.Stdout);
        output.WriteLine(ping.Stdout);
    }

    [InteropTheory("ncat")]
    [InlineData(1_000_000)]
    [InlineData(100_000_000)]
    public void Connect_SendsToNcatListener_NcatGotTheSameSha(long bytes)
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using var files = new TestFiles();
        using Proc ncat = ns.Start("sh", "-c", $"exec ncat -l --recv-only {Netns.KernelAddress} 6001 > {files.PathOf("got.bin")}");
        WaitForListener(ns, 6001);

        ProcessResult connect = Finish(ns.StartWirestack("connect", "--dev", "tun0", "--addr", Netns.WirestackCidr,
            "--to", $"{Netns.KernelAddress}:6001", "--send", bytes.ToString(CultureInfo.InvariantCulture), "--json", "--stats"));

        Assert.True(connect.ExitCode == 0, connect.ToString());
        JsonElement json = Json(connect);
        Assert.Equal(bytes, json.GetProperty("bytes_sent").GetInt64());
        ProcessResult listener = ncat.WaitForExit(TimeSpan.FromSeconds(20));
        Assert.True(listener.ExitCode == 0, listener.ToString());
        Assert.Equal(bytes, files.Length("got.bin"));
        Assert.Equal(json.GetProperty("sha256_sent").GetString(), files.Sha256("got.bin"));
        output.WriteLine($"{bytes} bytes in {json.GetProperty("seconds").GetDouble():0.000} s, " +
            $"{json.GetProperty("throughput_bits_per_second").GetDouble() / 1e6:0} Mbit/s; Wirestack RetransSegs " +
            $"{json.GetProperty("stats").GetProperty("counters").GetProperty("Tcp").GetProperty("RetransSegs").GetInt64()}");
    }

    /// <summary>
    /// At MTU 65535 the MSS (65483) is larger than the window Linux offers a new connection (64512). This stalled after
    /// the first 64 KiB while the stack scaled the window of the peer's SYN-ACK (RFC 7323 §2.2) and had nothing to send
    /// a window smaller than the MSS (RFC 1122 §4.2.3.4); see KernelInteropReproTests in Wirestack.Tests.
    /// </summary>
    [InteropFact("ncat")]
    public void Connect_Mtu65535_BulkSendToNcatListener()
    {
        using var ns = Netns.Create(output);
        ns.AddTun(mtu: 65535);
        using var files = new TestFiles();
        using Proc ncat = ns.Start("sh", "-c", $"exec ncat -l --recv-only {Netns.KernelAddress} 6001 > {files.PathOf("got.bin")}");
        WaitForListener(ns, 6001);

        ProcessResult connect = Finish(ns.StartWirestack("connect", "--dev", "tun0", "--addr", Netns.WirestackCidr, "--mtu", "65535",
            "--to", $"{Netns.KernelAddress}:6001", "--send", "10000000", "--json", "--timeout", "30s", "--stats"));

        Assert.True(connect.ExitCode == 0, connect.ToString());
        Assert.True(ncat.WaitForExit(TimeSpan.FromSeconds(20)).ExitCode == 0);
        Assert.Equal(Json(connect).GetProperty("sha256_sent").GetString(), files.Sha256("got.bin"));
    }

    [InteropFact("python3")]
    public void Connect_GetsFilesFromPythonHttpServer()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using var files = new TestFiles();
        var sizes = new long[] { 1_000, 1_000_000, 20_000_000 };
        Dictionary<long, string> shas = sizes.ToDictionary(s => s, s => files.Random($"f{s}", s));
        using Proc http = ns.Start("python3", "-m", "http.server", "8000", "--bind", Netns.KernelAddress, "--directory", files.Directory);
        WaitForListener(ns, 8000);

        foreach (long size in sizes)
        {
            ProcessResult get = Finish(ns.StartWirestack("connect", "--dev", "tun0", "--addr", Netns.WirestackCidr,
                "--to", $"{Netns.KernelAddress}:8000", "--get", $"/f{size}", "--json"));
            Assert.True(get.ExitCode == 0, get.ToString());
            JsonElement json = Json(get);
            Assert.Equal(200, json.GetProperty("status").GetInt32());
            Assert.Equal(size, json.GetProperty("bytes_received").GetInt64());
            Assert.Equal(shas[size], json.GetProperty("sha256_received").GetString());
            output.WriteLine($"  /f{size}: {json.GetProperty("status_line").GetString()}, {size} bytes in {json.GetProperty("seconds").GetDouble():0.000} s");
        }
    }

    [InteropFact("openssl")]
    public void Connect_GetsFileOverTlsFromOpensslServer()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using var files = new TestFiles();
        string sha = files.Random("payload.bin", 5_000_000);
        ProcessResult made = Proc.Run(TimeSpan.FromSeconds(30), "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", files.PathOf("key.pem"), "-out", files.PathOf("cert.pem"), "-days", "1", "-subj", $"/CN={Netns.KernelAddress}");
        Assert.True(made.ExitCode == 0, made.ToString());
        using Proc tls = ns.StartIn(files.Directory, "openssl", "s_server", "-accept", "4433", "-cert", "cert.pem", "-key", "key.pem", "-WWW", "-quiet");
        WaitForListener(ns, 4433);

        ProcessResult get = Finish(ns.StartWirestack("connect", "--dev", "tun0", "--addr", Netns.WirestackCidr,
            "--to", $"{Netns.KernelAddress}:4433", "--get", "/payload.bin", "--tls", "--insecure", "--json"));

        Assert.True(get.ExitCode == 0, get.ToString());
        JsonElement json = Json(get);
        Assert.Equal(200, json.GetProperty("status").GetInt32());
        Assert.Equal(5_000_000, json.GetProperty("bytes_received").GetInt64());
        Assert.Equal(sha, json.GetProperty("sha256_received").GetString());
        output.WriteLine($"{json.GetProperty("tls").GetString()}: 5 MB in {json.GetProperty("seconds").GetDouble():0.000} s");
    }

    /// <summary>Waits until a kernel server in the namespace listens on <paramref name="port"/> (ss -ltn).</summary>
    internal static void WaitForListener(Netns ns, int port)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            ProcessResult ss = ns.Run(TimeSpan.FromSeconds(5), "ss", "-Hltn", $"sport = :{port}");
            if (ss.Stdout.Contains($":{port}", StringComparison.Ordinal))
            {
                return;
            }

            Thread.Sleep(100);
        }

        throw new Xunit.Sdk.XunitException($"nothing listens on port {port} in {ns.Name} after 15 s");
    }

    private static ProcessResult Finish(Proc proc)
    {
        using (proc)
        {
            return proc.WaitForExit(s_run);
        }
    }

    private static JsonElement Json(ProcessResult result)
    {
        using JsonDocument document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.Clone();
    }
}
