using System.Globalization;
using System.Text.RegularExpressions;
using Wirestack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace Wirestack.Interop.Tests;

/// <summary>Wirestack's behaviour as the kernel sees it: RST for a port with no listener, a full backlog as in
/// seed 004, and well-formed segments with the options negotiated in a capture taken inside the namespace.</summary>
public sealed partial class KernelViewTests(ITestOutputHelper output)
{
    [InteropFact("ncat", "python3")]
    public void NoListener_KernelClientGetsConnectionRefused()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using Proc server = ns.Serve("--port", "5001", "--discard", "--stats");

        ProcessResult ncat = ns.Shell(TimeSpan.FromSeconds(20), $"ncat {Netns.WirestackAddress} 5002 < /dev/null");
        ProcessResult python = ns.Run(TimeSpan.FromSeconds(20), "python3", "-c",
            $"import socket\ns = socket.socket(); s.settimeout(5)\ntry:\n    s.connect(('{Netns.WirestackAddress}', 5002)); print('connected')\n" +
            "except OSError as e:\n    print(type(e).__name__, e.errno)");

        Assert.Equal(1, ncat.ExitCode);
        Assert.Contains("Connection refused", ncat.Stderr);
        Assert.Equal("ConnectionRefusedError 111", python.Stdout.Trim());
        ProcessResult stopped = server.Terminate(TimeSpan.FromSeconds(15));
        output.WriteLine(stopped.Stdout);
        Assert.True(Counter(stopped.Stdout, "OutRsts") >= 2, "OutRsts < 2");
    }

    [InteropFact("python3")]
    public void FullBacklog_ThirdSynIsDropped_KernelConnectTimesOut()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using Proc server = ns.Serve("--port", "7000", "--backlog", "1", "--no-accept", "--stats");

        // One at a time: the accept queue holds backlog + 1 = 2 (as on Linux); the third SYN finds it full and is
        // dropped (ListenOverflows), so the kernel retransmits it and the 3.5 s connect gives up.
        // The clients stay open (python sleeps) while the server prints its socket table.
        using Proc clients = ns.Start("python3", "-u", "-c", $$"""
            import socket, time
            keep = []
            for i in range(3):
                s = socket.socket(); s.settimeout(3.5); t = time.monotonic()
                try:
                    s.connect(('{{Netns.WirestackAddress}}', 7000)); print(f'c{i + 1} connected')
                except socket.timeout:
                    print(f'c{i + 1} timeout after {time.monotonic() - t:.1f} s')
                keep.append(s)
            print('done')
            time.sleep(5)
            """);
        clients.WaitForLine(l => l == "done", TimeSpan.FromSeconds(20), "'done'");
        ProcessResult stopped = server.Terminate(TimeSpan.FromSeconds(15));
        ProcessResult python = clients.WaitForExit(TimeSpan.FromSeconds(20));
        output.WriteLine(python.Stdout);
        output.WriteLine(stopped.Stdout);
        Assert.True(python.ExitCode == 0, python.ToString());
        Assert.Equal(["c1 connected", "c2 connected"], python.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(2));
        Assert.Matches("c3 timeout after 3\\.[0-9] s", python.Stdout);
        Assert.True(Counter(stopped.Stdout, "ListenOverflows") >= 1, "no ListenOverflows");
        Assert.True(Counter(stopped.Stdout, "ListenDrops") >= 1, "no ListenDrops");
        Assert.Matches(@"(?m)^\s*tcp\s+LISTEN\s+2\s+1\s+10\.77\.0\.2:7000", stopped.Stdout);
    }

    [InteropFact("python3")]
    public void FullBacklog_SimultaneousSyns_ClientsThinkTheyAreConnectedButTheirDataIsNeverAcked()
    {
        using var ns = Netns.Create(output);
        ns.AddTun();
        using Proc server = ns.Serve("--port", "7000", "--backlog", "1", "--no-accept", "--stats");

        // Seed 004 §1.4: four SYNs at once all get a SYN-ACK; the ACKs of the last two find the accept queue full and
        // are dropped, so those clients believe they are connected, but the server never takes their data: it stays
        // unacknowledged in the kernel's send queue (the RST the seed describes comes only minutes later).
        ProcessResult python = ns.Run(TimeSpan.FromSeconds(30), "python3", "-c", $$"""
            import select, socket, subprocess, time
            socks = []
            for i in range(4):
                s = socket.socket(); s.setblocking(False); s.connect_ex(('{{Netns.WirestackAddress}}', 7000)); socks.append(s)
            deadline = time.monotonic() + 5
            pending = list(socks)
            while pending and time.monotonic() < deadline:
                _, w, _ = select.select([], pending, [], 0.2)
                for s in w: pending.remove(s)
            print('connected', sum(1 for s in socks if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 and s not in pending))
            for s in socks: s.send(b'hello')
            time.sleep(1.5)
            print(subprocess.run(['ss', '-Htn', 'dst', '{{Netns.WirestackAddress}}'], capture_output=True, text=True).stdout)
            """);

        ProcessResult stopped = server.Terminate(TimeSpan.FromSeconds(15));
        output.WriteLine(python.Stdout);
        output.WriteLine(stopped.Stdout);
        Assert.True(python.ExitCode == 0, python.ToString());
        Assert.Contains("connected 4", python.Stdout);
        List<string> rows = python.Stdout.Split('\n').Where(l => l.StartsWith("ESTAB", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, rows.Count);
        Assert.Equal(2, rows.Count(r => Regex.IsMatch(r, @"^ESTAB\s+0\s+0\s")));  // in the accept queue: data acknowledged
        Assert.Equal(2, rows.Count(r => Regex.IsMatch(r, @"^ESTAB\s+0\s+5\s")));  // ACK dropped: "hello" never acknowledged
        // At least the two dropped third ACKs, then each retransmission of "hello" that finds the queue still full.
        Assert.True(Counter(stopped.Stdout, "ListenOverflows") >= 2, "ListenOverflows < 2");
    }

    [InteropTheory("tshark", "ncat", "curl")]
    [InlineData(1500)]
    [InlineData(65535)]
    public void Capture_WellFormedSegmentsWithMssWindowScaleSackTimestamps(int mtu)
    {
        using var ns = Netns.Create(output);
        ns.AddTun(mtu: mtu);
        using var files = new TestFiles();
        files.Random("page", 300_000);
        string capture = files.PathOf("tun0.pcap");
        using Proc tshark = ns.Start("tshark", "-i", "tun0", "-a", "duration:60", "-w", capture);
        tshark.WaitForLine(l => l.Contains("Capturing on", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "'Capturing on'");

        // Wirestack as server (answers the kernel's SYN) and as client (sends its own SYN).
        using (Proc server = ns.Serve("--port", "8080", "--http", files.Directory, "--mtu", mtu.ToString(CultureInfo.InvariantCulture)))
        {
            ProcessResult curl = ns.Run(TimeSpan.FromSeconds(30), "curl", "-sS", "--fail", "-o", "/dev/null", $"http://{Netns.WirestackAddress}:8080/page");
            Assert.True(curl.ExitCode == 0, curl.ToString());
            server.Terminate(TimeSpan.FromSeconds(15));
        }

        using (Proc ncat = ns.Start("sh", "-c", $"exec ncat -l --recv-only {Netns.KernelAddress} 6001 > /dev/null"))
        {
            WirestackClientTests.WaitForListener(ns, 6001);
            using Proc connect = ns.StartWirestack("connect", "--dev", "tun0", "--addr", Netns.WirestackCidr, "--to", $"{Netns.KernelAddress}:6001",
                "--send", "300000", "--mtu", mtu.ToString(CultureInfo.InvariantCulture), "--timeout", "30s");
            ProcessResult sent = connect.WaitForExit(TimeSpan.FromSeconds(60));
            Assert.True(sent.ExitCode == 0, sent.ToString());
            ProcessResult listener = ncat.WaitForExit(TimeSpan.FromSeconds(15));
            Assert.True(listener.ExitCode == 0, listener.ToString());
        }

        // Both peers are done (Wirestack's connect waits for its FIN to be acknowledged): every packet has been
        // through tun0, and tshark writes what it captured when it is stopped.
        tshark.Terminate(TimeSpan.FromSeconds(15));
        Assert.True(File.Exists(capture), "tshark wrote no capture");

        // The SYN (client side) and the SYN-ACK (server side) Wirestack sent, with the options it offered.
        int mss = mtu - 40;
        List<string[]> syns = Fields(capture, $"ip.src=={Netns.WirestackAddress} && tcp.flags.syn==1",
            "tcp.flags.ack", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.options.timestamp.tsval");
        output.WriteLine("Wirestack SYN/SYN-ACK: ack mss wscale sack_perm tsval");
        syns.ForEach(r => output.WriteLine("  " + string.Join(' ', r)));
        Assert.Contains(syns, r => r[0] is "0" or "False");  // a SYN
        Assert.Contains(syns, r => r[0] is "1" or "True");   // a SYN-ACK
        foreach (string[] row in syns)
        {
            Assert.Equal(mss.ToString(CultureInfo.InvariantCulture), row[1]);
            Assert.Matches("^[0-9]+$", row[2]);
            Assert.NotEqual("", row[3]);
            Assert.Matches("^[0-9]+$", row[4]);
        }

        // After the handshakes every Wirestack segment carries a timestamp (both sides offered them), and nothing
        // in either direction has a bad checksum or is malformed.
        List<string[]> segments = Fields(capture, $"ip.src=={Netns.WirestackAddress} && tcp && tcp.flags.syn==0", "tcp.options.timestamp.tsval");
        Assert.NotEmpty(segments);
        Assert.All(segments, r => Assert.Matches("^[0-9]+$", r[0]));
        List<string[]> bad = Fields(capture, "tcp.checksum.status==0 || ip.checksum.status==0 || _ws.malformed", "frame.number");
        Assert.Empty(bad);
        List<string[]> windowExceeded = Fields(capture, "tcp.analysis.retransmission || tcp.analysis.lost_segment || tcp.analysis.out_of_order", "frame.number");
        output.WriteLine($"{segments.Count} Wirestack segments after the handshakes, all with timestamps; 0 bad checksums or malformed; " +
            $"{windowExceeded.Count} flagged retransmission/lost/out-of-order by tshark");
    }

    /// <summary>A counter from --stats output (netstat -s style: name, spaces, value); 0 when it is left out (zero).</summary>
    private static long Counter(string stats, string name)
    {
        Match m = Regex.Match(stats, $@"(?m)^\s*{Regex.Escape(name)}\s+(\d+)\s*$");
        return m.Success ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    private static List<string[]> Fields(string capture, string filter, params string[] fields)
    {
        var arguments = new List<string> { "-r", capture, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-Y", filter, "-T", "fields" };
        foreach (string field in fields)
        {
            arguments.Add("-e");
            arguments.Add(field);
        }

        ProcessResult result = Proc.Run(TimeSpan.FromSeconds(60), "tshark", [.. arguments]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
    }
}
