using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Wirestack.Cli.Bench;

/// <summary>iperf3 over the kernel's loopback: <c>iperf3 -s -1</c> and <c>iperf3 -c 127.0.0.1 -t N -O W -P P -J</c>,
/// both on the same <see cref="KernelLoopback"/>; the figure is the receiver's <c>end.sum_received</c>.</summary>
internal static class Iperf3
{
    /// <summary>The figure, or null with the reason in <paramref name="missing"/>.</summary>
    public static BulkFigure? Run(KernelLoopback loopback, int streams, TimeSpan measure, TimeSpan warmup, out string? missing)
    {
        string? iperf = ExternalProcess.Which("iperf3");
        if (iperf is null)
        {
            missing = "iperf3 is not installed (apt-get install iperf3)";
            return null;
        }

        int port = loopback.InNamespace ? 5201 : FreePort();
        string portText = port.ToString(CultureInfo.InvariantCulture);
        string[] server = loopback.Wrap(iperf, "-s", "-1", "-p", portText);
        var info = new ProcessStartInfo(server[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in server[1..])
        {
            info.ArgumentList.Add(argument);
        }

        using Process serverProcess = Process.Start(info) ?? throw new InvalidOperationException("iperf3 -s did not start");
        serverProcess.OutputDataReceived += (_, _) => { };
        serverProcess.ErrorDataReceived += (_, _) => { };
        serverProcess.BeginOutputReadLine();
        serverProcess.BeginErrorReadLine();
        try
        {
            int seconds = Math.Max(1, (int)Math.Ceiling(measure.TotalSeconds));
            int omit = Math.Max(0, (int)Math.Ceiling(warmup.TotalSeconds));
            string[] client = loopback.Wrap(iperf, "-c", "127.0.0.1", "-p", portText, "-t", seconds.ToString(CultureInfo.InvariantCulture),
                "-O", omit.ToString(CultureInfo.InvariantCulture), "-P", streams.ToString(CultureInfo.InvariantCulture), "-J");
            ExternalProcess.Outcome? outcome = null;
            for (int attempt = 0; attempt < 20; attempt++)
            {
                Thread.Sleep(100); // the server needs a moment to listen
                outcome = ExternalProcess.Run(client[0], client[1..], TimeSpan.FromSeconds(seconds + omit + 30));
                if (outcome is null || outcome.Succeeded || !outcome.Stdout.Contains("unable to connect", StringComparison.Ordinal))
                {
                    break;
                }
            }

            if (outcome is not { Succeeded: true })
            {
                missing = $"iperf3 failed: {outcome?.LastLine ?? "did not start"}";
                return null;
            }

            JsonNode? json = JsonNode.Parse(outcome.Stdout);
            JsonNode? received = json?["end"]?["sum_received"];
            if (received?["bits_per_second"] is not { } bps)
            {
                missing = $"iperf3 printed no end.sum_received ({json?["error"]})";
                return null;
            }

            missing = null;
            double measured = (double)received["seconds"]!;
            JsonNode? cpu = json?["end"]?["cpu_utilization_percent"];
            double busy = ((double?)cpu?["host_total"] ?? 0) + ((double?)cpu?["remote_total"] ?? 0);
            return new BulkFigure((double)bps / 1e9, (long)(double)received["bytes"]!, measured, CpuSeconds: busy / 100 * measured);
        }
        finally
        {
            if (!serverProcess.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                serverProcess.Kill(entireProcessTree: true);
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
