// `wirestack tun ping`: ICMP echo from Wirestack to a kernel address over a TUN device, ping(8)-style output.
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;
using Wirestack.Sockets;
using Wirestack.Wire;

namespace Wirestack.Cli.Tun;

internal sealed record PingSettings(TunSettings Tun, IPv4Address To, int Count, TimeSpan Interval, bool Json);

internal static class TunPing
{
    private const int PayloadBytes = 56;

    public static int Run(TextWriter stdout, TextWriter stderr, PingSettings settings)
    {
        using TunHost host = TunHost.Start(settings.Tun);
        TextWriter human = settings.Json ? TextWriter.Null : stdout;
        human.WriteLine($"PING {settings.To} from {host.Address} {host.Device.Name}: {PayloadBytes}({PayloadBytes + 28}) bytes of data");
        using var pinger = new Pinger(host.Stack, (ushort)Random.Shared.Next(1, 65536));
        var rtts = new List<double>();
        int sent = 0;
        int errors = 0;
        for (int i = 0; i < settings.Count && !host.Stopping.IsCancellationRequested; i++)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            ushort sequence = (ushort)(i + 1);
            SocketError error = pinger.Send(settings.To, sequence, PayloadBytes);
            if (error != SocketError.Success)
            {
                errors++;
                stderr.WriteLine($"ping: icmp_seq={sequence}: {SocketErrors.ToErrno(error)} ({error})");
            }
            else
            {
                sent++;
                host.Driver.WaitFor(host.Stack, () => pinger.HasReply(sequence) || host.Stopping.IsCancellationRequested, settings.Interval);
                TimeSpan? rtt;
                lock (host.Stack.SyncRoot)
                {
                    rtt = pinger.HasReply(sequence) ? pinger.Replies.Find(r => r.Sequence == sequence).Rtt : null;
                }

                if (rtt is { } r)
                {
                    rtts.Add(r.TotalMilliseconds);
                    human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{PayloadBytes + 8} bytes from {settings.To}: icmp_seq={sequence} time={r.TotalMilliseconds:0.###} ms"));
                }
            }

            TimeSpan left = settings.Interval - System.Diagnostics.Stopwatch.GetElapsedTime(started);
            if (i + 1 < settings.Count && left > TimeSpan.Zero)
            {
                host.Stopping.WaitHandle.WaitOne(left); // one request per interval, as ping does
            }
        }

        int received = rtts.Count;
        double loss = sent == 0 ? 100 : 100.0 * (sent - received) / sent;
        if (settings.Json)
        {
            var json = new JsonObject
            {
                ["to"] = settings.To.ToString(),
                ["sent"] = sent,
                ["received"] = received,
                ["errors"] = errors,
                ["rtt_ms"] = JsonOutput.Array(rtts.Select(v => Math.Round(v, 3))),
            };
            if (settings.Tun.Stats)
            {
                json["stats"] = host.StatsJson();
            }

            JsonOutput.Write(stdout, json);
        }
        else
        {
            human.WriteLine();
            human.WriteLine($"--- {settings.To} ping statistics ---");
            human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sent} packets transmitted, {received} received{(errors > 0 ? $", +{errors} errors" : "")}, {loss:0.#}% packet loss"));
            if (received > 0)
            {
                double average = rtts.Average();
                double mdev = Math.Sqrt(Math.Max(0, rtts.Average(v => v * v) - average * average));
                human.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"rtt min/avg/max/mdev = {rtts.Min():0.000}/{average:0.000}/{rtts.Max():0.000}/{mdev:0.000} ms"));
            }

            if (settings.Tun.Stats)
            {
                host.PrintStats(stdout);
            }
        }

        TunServe.ReportCapture(settings.Json ? stderr : stdout, host);
        if (received == 0)
        {
            stderr.WriteLine($"wirestack tun ping: no reply from {settings.To} ({sent} sent)");
            return ExitCodes.Failure;
        }

        return ExitCodes.Success;
    }
}
