using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Wirestack.Buffers;
using Wirestack.Interop.Tests.Support;
using Wirestack.Links.Linux;
using Xunit.Abstractions;

namespace Wirestack.Interop.Tests;

/// <summary>
/// The TUN device's virtio-net header offloads (<c>--offload</c>: IFF_VNET_HDR, TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4)
/// against the kernel: 100 MB each way arrives intact (SHA-256), the device really carried large segments
/// (tx_gso_packets / rx_gso_packets), the kernel counted no bad checksum, and the same transfers without offloads
/// carry none.
/// </summary>
public sealed partial class OffloadTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_transfer = TimeSpan.FromSeconds(120);
    private const long Bytes = 100_000_000;

    /// <summary>100 MB in segments of at most 1500 bytes: the fewest data packets without large segments.</summary>
    private const long MinSmallPackets = Bytes / 1500;

    [InteropTheory("ncat")]
    [InlineData(true)]
    [InlineData(false)]
    public void KernelSendsToWirestack_100MB_SameSha_LargeSegmentsReceivedOnlyWithOffload(bool offload)
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using var files = new TestFiles();
        string sent = files.Random("in.bin", Bytes);
        using Proc server = ns.Serve(["--port", "5001", "--discard", "--stats", .. offload ? new[] { "--offload" } : []]);

        ProcessResult ncat = ns.Shell(s_transfer, $"ncat --send-only {Netns.WirestackAddress} 5001 < {files.PathOf("in.bin")}");

        Assert.True(ncat.ExitCode == 0, ncat.ToString());
        server.WaitForLine(l => l.Contains("received", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the received line");
        ProcessResult stopped = server.Terminate(TimeSpan.FromSeconds(15));
        Assert.Contains($"received {Bytes} bytes, sha256 {sent}", stopped.Stdout);
        Assert.Equal(offload, stopped.Stdout.Contains("(TSO/checksum offload)", StringComparison.Ordinal)); // the listening line
        long rxGso = Counter(stopped.Stdout, "rx_gso_packets");
        long rxPackets = Counter(stopped.Stdout, "rx_packets");
        if (offload)
        {
            // The kernel's TSO packets arrive whole: far fewer packets than 100 MB in MTU-sized segments.
            Assert.True(rxGso > 100, $"rx_gso_packets {rxGso}");
            Assert.True(rxPackets < MinSmallPackets / 2, $"rx_packets {rxPackets}");
        }
        else
        {
            Assert.Equal(0, rxGso);
            Assert.True(rxPackets >= MinSmallPackets, $"rx_packets {rxPackets}");
        }

        Assert.Equal(0, Counter(stopped.Stdout, "InCsumErrors")); // the completed partial checksums were right
        output.WriteLine($"offload {offload}: {ncat.Elapsed.TotalSeconds:0.000} s, rx_packets {rxPackets}, rx_gso_packets {rxGso}");
    }

    [InteropTheory("ncat")]
    [InlineData(true)]
    [InlineData(false)]
    public void WirestackSendsToKernel_100MB_SameSha_LargeSegmentsSentOnlyWithOffload_NoKernelChecksumErrors(bool offload)
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using var files = new TestFiles();
        using Proc ncat = ns.Start("sh", "-c", $"exec ncat -l --recv-only {Netns.KernelAddress} 6001 > {files.PathOf("got.bin")}");
        WirestackClientTests.WaitForListener(ns, 6001);

        using Proc connect = ns.StartWirestack(["connect", "--dev", "tun0", "--addr", Netns.WirestackCidr, "--to", $"{Netns.KernelAddress}:6001",
            "--send", Bytes.ToString(CultureInfo.InvariantCulture), "--json", "--stats", .. offload ? new[] { "--offload" } : []]);
        ProcessResult result = connect.WaitForExit(s_transfer);

        Assert.True(result.ExitCode == 0, result.ToString());
        using JsonDocument document = JsonDocument.Parse(result.Stdout);
        JsonElement json = document.RootElement;
        Assert.Equal(Bytes, json.GetProperty("bytes_sent").GetInt64());
        Assert.True(ncat.WaitForExit(TimeSpan.FromSeconds(20)).ExitCode == 0);
        Assert.Equal(Bytes, files.Length("got.bin"));
        Assert.Equal(json.GetProperty("sha256_sent").GetString(), files.Sha256("got.bin"));

        JsonElement link = json.GetProperty("stats").GetProperty("counters").GetProperty("Link:tun0");
        long txGso = link.GetProperty("tx_gso_packets").GetInt64();
        long txPackets = link.GetProperty("tx_packets").GetInt64();
        if (offload)
        {
            Assert.True(txGso > 100, $"tx_gso_packets {txGso}");
            Assert.True(txPackets < MinSmallPackets / 2, $"tx_packets {txPackets}");
        }
        else
        {
            Assert.Equal(0, txGso);
            Assert.True(txPackets >= MinSmallPackets, $"tx_packets {txPackets}");
        }

        Assert.Equal(0, link.GetProperty("tx_dropped").GetInt64());
        // The kernel took every large segment and every partial checksum: no drops on the device, no checksum errors.
        ProcessResult snmp = ns.Run(TimeSpan.FromSeconds(10), "cat", "/proc/net/snmp");
        Assert.Equal(0, SnmpTcp(snmp.Stdout, "InCsumErrors"));
        Assert.Equal(0, SnmpTcp(snmp.Stdout, "InErrs"));
        output.WriteLine($"offload {offload}: {json.GetProperty("seconds").GetDouble():0.000} s, tx_packets {txPackets}, tx_gso_packets {txGso}");
    }

    /// <summary>Both directions at once. At MTU 65535 no segment exceeds the MTU, so nothing is a GSO packet and what
    /// the offloads change is the checksums alone (partial both ways): the bytes must still come back intact.</summary>
    [InteropTheory("ncat")]
    [InlineData(1500)]
    [InlineData(65535)]
    public void EchoServer_WithOffload_ReturnsEveryByte_LargeSegmentsBothWaysWhereOverTheMtu(int mtu)
    {
        using var ns = Netns.Create(output);
        ns.AddTun(mtu: mtu);
        using var files = new TestFiles();
        string sent = files.Random("in.bin", Bytes);
        string mtuText = mtu.ToString(CultureInfo.InvariantCulture);
        using Proc server = ns.Serve("--port", "5001", "--echo", "--offload", "--mtu", mtuText, "--stats");

        ProcessResult ncat = ns.Shell(s_transfer, $"ncat {Netns.WirestackAddress} 5001 < {files.PathOf("in.bin")} > {files.PathOf("out.bin")}");

        Assert.True(ncat.ExitCode == 0, ncat.ToString());
        Assert.Equal(Bytes, files.Length("out.bin"));
        Assert.Equal(sent, files.Sha256("out.bin"));
        ProcessResult stopped = server.Terminate(TimeSpan.FromSeconds(15));
        Assert.Contains($"echoed {Bytes} bytes", stopped.Stdout);
        long rxGso = Counter(stopped.Stdout, "rx_gso_packets"), txGso = Counter(stopped.Stdout, "tx_gso_packets");
        if (mtu == 1500)
        {
            Assert.True(rxGso > 100, stopped.Stdout);
            Assert.True(txGso > 100, stopped.Stdout);
        }
        else
        {
            Assert.Equal(0, rxGso);
            Assert.Equal(0, txGso);
        }

        Assert.Equal(0, Counter(stopped.Stdout, "InCsumErrors"));
        Assert.Equal(0, Counter(stopped.Stdout, "tx_dropped"));
        ProcessResult snmp = ns.Run(TimeSpan.FromSeconds(10), "cat", "/proc/net/snmp");
        Assert.Equal(0, SnmpTcp(snmp.Stdout, "InCsumErrors"));
        output.WriteLine($"echo with offload at MTU {mtu}: {ncat.Elapsed.TotalSeconds:0.000} s, rx_gso_packets {rxGso}, tx_gso_packets {txGso}");
    }

    [InteropFact]
    public void Device_ReportsGsoMaxSizeOnlyWithOffload_ReceiveBuffersHoldTheLargestPacket()
    {
        using var ns = Netns.Create(output);
        var pool = new PacketBufferPool(new MemoryBudget(64L << 20));
        using (TunDevice plain = NetNamespace.Run(ns.Name, () => TunDevice.Open("wst0", pool)))
        {
            Assert.False(plain.Offload);
            Assert.Equal(0, ((Wirestack.Links.ILinkDevice)plain).GsoMaxSize);
            Assert.Equal(1500, plain.RingBufferSize);
        }

        using TunDevice device = NetNamespace.Run(ns.Name, () => TunDevice.Open("wst1", pool, new TunOptions { Offload = true }));
        Assert.True(device.Offload);
        Assert.Equal(65535, ((Wirestack.Links.ILinkDevice)device).GsoMaxSize);
        Assert.Equal(1500, device.Mtu);
        Assert.Equal(VirtioNetHeader.Size + 65535, device.RingBufferSize);
        Assert.Equal(0, device.RingBuffers); // allocated as packets come, not up front
    }

    /// <summary>A counter as `--stats` prints it ("  name   value"); absent (the printer leaves zeros out) is 0.</summary>
    private static long Counter(string stdout, string name)
    {
        Match match = Regex.Match(stdout, $@"^\s+{name}\s+(\d+)\s*$", RegexOptions.Multiline);
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>A field of the Tcp: lines of /proc/net/snmp (names on one line, values on the next).</summary>
    private static long SnmpTcp(string snmp, string field)
    {
        string[] lines = snmp.Split('\n').Where(l => l.StartsWith("Tcp:", StringComparison.Ordinal)).ToArray();
        string[] names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(values[Array.IndexOf(names, field)], CultureInfo.InvariantCulture);
    }
}
