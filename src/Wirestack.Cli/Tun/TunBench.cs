// `wirestack tun bench`: bulk TCP throughput between Wirestack and the kernel over a TUN device, each direction, at
// each MTU asked for, next to the kernel talking to itself over a veth pair at the same MTU. Everything happens in
// network namespaces made for the run (wstest-<random>) and deleted afterwards, failure or not: Wirestack's device
// and every kernel socket are opened inside them (NetNamespace.Run), so no packet leaves them. Each measurement
// sends for a fixed time from one sender to one receiver that counts until the sender's FIN; throughput is the
// bytes received over the time from the connection being accepted to the end of stream.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Links.Linux;
using Wirestack.Sockets;
using Wirestack.Wire;
using NetSocketType = System.Net.Sockets.SocketType;

namespace Wirestack.Cli.Tun;

/// <param name="Offload">Whether Wirestack's device has TSO/checksum offloads, one measurement per value.</param>
internal sealed record BenchSettings(TimeSpan Duration, List<int> Mtus, bool Json, bool[]? Offload = null);

internal static class TunBench
{
    private const int Chunk = 256 * 1024;
    private static readonly IPv4Cidr s_wirestack = IPv4Cidr.Parse("10.77.0.2/24");
    private const string KernelTunAddress = "10.77.0.1";

    private sealed record Measurement(string Path, int Mtu, long Bytes, TimeSpan Elapsed, long Retransmits, bool? Offload = null, long GsoPackets = 0)
    {
        public double BitsPerSecond => Bytes * 8 / Math.Max(Elapsed.TotalSeconds, 1e-9);
    }

    public static int Run(TextWriter stdout, TextWriter stderr, BenchSettings settings)
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess || !File.Exists("/dev/net/tun"))
        {
            throw new CommandFailedException("tun bench needs Linux, root and /dev/net/tun");
        }

        TextWriter human = settings.Json ? TextWriter.Null : stdout;
        human.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bulk TCP, one connection, {settings.Duration.TotalSeconds:0.###} s of sending per measurement; {Environment.ProcessorCount} CPUs"));
        var results = new List<Measurement>();
        foreach (int mtu in settings.Mtus)
        {
            foreach (bool offload in settings.Offload ?? [false])
            {
                results.AddRange(MeasureTun(mtu, settings.Duration, human, offload));
            }

            results.Add(MeasureVeth(mtu, settings.Duration, human));
        }

        if (settings.Json)
        {
            var array = new JsonArray();
            foreach (Measurement m in results)
            {
                array.Add(new JsonObject
                {
                    ["path"] = m.Path,
                    ["mtu"] = m.Mtu,
                    ["bytes"] = m.Bytes,
                    ["seconds"] = Math.Round(m.Elapsed.TotalSeconds, 6),
                    ["bits_per_second"] = Math.Round(m.BitsPerSecond),
                    ["wirestack_retransmits"] = m.Retransmits,
                    ["offload"] = m.Offload,
                    ["gso_packets"] = m.Offload is null ? null : m.GsoPackets,
                });
            }

            JsonOutput.Write(stdout, new JsonObject { ["duration_seconds"] = settings.Duration.TotalSeconds, ["results"] = array });
        }
        else
        {
            human.WriteLine();
            human.WriteLine($"{"path",-28}{"mtu",7}{"offload",9}{"throughput",16}{"bytes",16}{"retrans",9}{"gso pkts",10}");
            foreach (Measurement m in results)
            {
                string offload = m.Offload switch { true => "on", false => "off", null => "-" };
                string gso = m.Offload is null ? "-" : m.GsoPackets.ToString(CultureInfo.InvariantCulture);
                human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{m.Path,-28}{m.Mtu,7}{offload,9}{Units.FormatRate(m.BitsPerSecond),16}{m.Bytes,16}{m.Retransmits,9}{gso,10}"));
            }
        }

        return ExitCodes.Success;
    }

    private static List<Measurement> MeasureTun(int mtu, TimeSpan duration, TextWriter human, bool offload)
    {
        string ns = NewNamespace();
        try
        {
            var settings = new TunSettings("wsbench0", s_wirestack, mtu, null, false, null, 1024, offload);
            using TunHost host = NetNamespace.Run(ns, () => TunHost.Start(settings));
            Ip("-n", ns, "addr", "add", $"{KernelTunAddress}/24", "dev", host.Device.Name);
            Ip("-n", ns, "link", "set", host.Device.Name, "up");
            var kernel = IPAddress.Parse(KernelTunAddress);

            // Wirestack → kernel: a kernel listener in the namespace, Wirestack's blocking client sends.
            using Socket kernelListener = NetNamespace.Run(ns, () => KernelListener(kernel, 5201));
            long gsoBefore = Interlocked.Read(ref host.Device.Counters.TxGsoPackets);
            Measurement up = Measure($"Wirestack -> kernel (tun)", mtu, kernelListener, () =>
            {
                using var socket = new NetSocket(host.Stack, NetSocketType.Stream);
                socket.Connect(new IPEndPoint(kernel, 5201));
                SendFor(chunk => socket.Send(chunk), duration);
                socket.Shutdown(SocketShutdown.Send);
                long retransmits = Retransmits(host);
                socket.Close();
                return retransmits;
            });
            up = up with { Offload = offload, GsoPackets = Interlocked.Read(ref host.Device.Counters.TxGsoPackets) - gsoBefore };
            human.WriteLine(Line(up));

            // kernel → Wirestack: Wirestack listens, a kernel client in the namespace sends.
            using var listener = new NetSocket(host.Stack, NetSocketType.Stream);
            listener.Bind(new IPEndPoint(IPAddress.Any, 5202));
            listener.Listen(4);
            long before = Retransmits(host);
            long rxGsoBefore = Interlocked.Read(ref host.Device.Counters.RxGsoPackets);
            Measurement down = MeasureInto(mtu, duration, () =>
            {
                using NetSocket accepted = listener.Accept();
                return Count(buffer => accepted.Receive(buffer));
            }, () => NetNamespace.Run(ns, () => KernelClient(new IPEndPoint(IPAddress.Parse(s_wirestack.Address.ToString()), 5202))));
            down = down with { Retransmits = Retransmits(host) - before, Offload = offload,
                GsoPackets = Interlocked.Read(ref host.Device.Counters.RxGsoPackets) - rxGsoBefore };
            human.WriteLine(Line(down));
            return [up, down];
        }
        finally
        {
            DeleteNamespace(ns);
        }
    }

    private static Measurement MeasureVeth(int mtu, TimeSpan duration, TextWriter human)
    {
        string a = NewNamespace();
        string b;
        try
        {
            b = NewNamespace();
        }
        catch
        {
            DeleteNamespace(a);
            throw;
        }

        try
        {
            Ip("-n", a, "link", "add", "wsva", "mtu", mtu.ToString(CultureInfo.InvariantCulture), "type", "veth", "peer", "name", "wsvb",
                "mtu", mtu.ToString(CultureInfo.InvariantCulture), "netns", b);
            Ip("-n", a, "addr", "add", "10.78.0.1/24", "dev", "wsva");
            Ip("-n", b, "addr", "add", "10.78.0.2/24", "dev", "wsvb");
            Ip("-n", a, "link", "set", "wsva", "up");
            Ip("-n", b, "link", "set", "wsvb", "up");
            using Socket listener = NetNamespace.Run(b, () => KernelListener(IPAddress.Parse("10.78.0.2"), 5203));
            Measurement m = Measure("kernel -> kernel (veth)", mtu, listener, () =>
            {
                using Socket client = NetNamespace.Run(a, () => new Socket(AddressFamily.InterNetwork, NetSocketType.Stream, ProtocolType.Tcp));
                client.Connect(new IPEndPoint(IPAddress.Parse("10.78.0.2"), 5203));
                SendFor(chunk => client.Send(chunk), duration);
                client.Shutdown(SocketShutdown.Send);
                return 0;
            });
            human.WriteLine(Line(m));
            return m;
        }
        finally
        {
            DeleteNamespace(b);
            DeleteNamespace(a);
        }
    }

    /// <summary>A sender (returning Wirestack's retransmit count) against a kernel listener that counts.</summary>
    private static Measurement Measure(string path, int mtu, Socket listener, Func<long> sender)
    {
        var receiving = Task.Run(() =>
        {
            using Socket accepted = listener.Accept();
            return Count(buffer => accepted.Receive(buffer));
        });
        long retransmits = sender();
        if (!receiving.Wait(TimeSpan.FromSeconds(60)))
        {
            throw new CommandFailedException($"{path} at MTU {mtu}: the receiver did not see the end of stream within 60 s");
        }

        (long bytes, TimeSpan elapsed) = receiving.Result;
        return new Measurement(path, mtu, bytes, elapsed, retransmits);
    }

    /// <summary>A Wirestack receiver and a kernel sender (made by <paramref name="connect"/>, in the namespace).</summary>
    private static Measurement MeasureInto(int mtu, TimeSpan duration, Func<(long, TimeSpan)> receiver, Func<Socket> connect)
    {
        var receiving = Task.Run(receiver);
        using (Socket client = connect())
        {
            SendFor(chunk => client.Send(chunk), duration);
            client.Shutdown(SocketShutdown.Send);
            if (!receiving.Wait(TimeSpan.FromSeconds(60)))
            {
                throw new CommandFailedException($"kernel -> Wirestack at MTU {mtu}: the receiver did not see the end of stream within 60 s");
            }
        }

        (long bytes, TimeSpan elapsed) = receiving.Result;
        return new Measurement("kernel -> Wirestack (tun)", mtu, bytes, elapsed, 0);
    }

    private static Socket KernelListener(IPAddress address, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, NetSocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, port));
        socket.Listen(4);
        return socket;
    }

    private static Socket KernelClient(IPEndPoint remote)
    {
        var socket = new Socket(AddressFamily.InterNetwork, NetSocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(remote); // the socket belongs to this thread's namespace for good
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void SendFor(Func<byte[], int> send, TimeSpan duration)
    {
        byte[] chunk = new byte[Chunk];
        new Random(7).NextBytes(chunk);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            send(chunk);
        }
    }

    /// <summary>Reads to the end of stream; bytes and the time from the first call to the end.</summary>
    private static (long, TimeSpan) Count(Func<byte[], int> receive)
    {
        byte[] buffer = new byte[Chunk];
        var clock = Stopwatch.StartNew();
        long total = 0;
        int n;
        while ((n = receive(buffer)) > 0)
        {
            total += n;
        }

        return (total, clock.Elapsed);
    }

    private static long Retransmits(TunHost host)
    {
        lock (host.Stack.SyncRoot)
        {
            return host.Stack.Counters.Tcp.RetransSegs;
        }
    }

    private static string Line(Measurement m) => string.Create(CultureInfo.InvariantCulture,
        $"  {m.Path,-28} mtu {m.Mtu,5}{(m.Offload is true ? ", offload" : m.Offload is false ? ", no offload" : "")}: {Units.FormatRate(m.BitsPerSecond),12} " +
        $"({m.Bytes} bytes in {m.Elapsed.TotalSeconds:0.000} s, {m.Retransmits} retransmitted by Wirestack" +
        $"{(m.Offload is true ? $", {m.GsoPackets} large segments through the device" : "")})");

    private static string NewNamespace()
    {
        string name = $"wstest-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 5))}";
        Ip("netns", "add", name);
        try
        {
            Ip("-n", name, "link", "set", "lo", "up");
        }
        catch
        {
            DeleteNamespace(name);
            throw;
        }

        return name;
    }

    private static void DeleteNamespace(string name)
    {
        try
        {
            Ip("netns", "delete", name);
        }
        catch (CommandFailedException)
        {
            // reported by Ip; nothing more to do
        }
    }

    /// <summary>Runs ip(8); a failure is a <see cref="CommandFailedException"/> with its message.</summary>
    private static void Ip(params string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new CommandFailedException("cannot run ip(8)");
        string error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
            throw new CommandFailedException($"ip {string.Join(' ', arguments)}: did not finish in 10 s");
        }

        if (process.ExitCode != 0)
        {
            throw new CommandFailedException($"ip {string.Join(' ', arguments)}: {error.Trim()}");
        }
    }
}
