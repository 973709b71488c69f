using System.Diagnostics;
using System.Globalization;
using Wirestack.Buffers;
using Wirestack.Links;
using Wirestack.Tests.Support;
using Wirestack.Time;

namespace Wirestack.Tests.Links;

/// <summary>Our captures, read by the real tool. Skipped when tshark is not installed.</summary>
public sealed class PcapTsharkTests
{
    [RequiresToolFact("tshark")]
    public void Tshark_ReadsAWireLevelCapture_FrameLengthsTimesAndChecksumsMatch()
    {
        int[] lengths = [28, 100, 576, 1500, 29];
        var wire = new SimulatedWire(new Random(12), new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMicroseconds(999) }, LinkImpairments.None);
        string path = Path.Combine(Path.GetTempPath(), $"wirestack-links-{Guid.NewGuid():N}.pcap");
        var arrivals = new List<long>();
        try
        {
            using (FileStream file = File.Create(path))
            using (var writer = new PcapWriter(file, LinkMedium.Ip))
            {
                wire.Tap = (bytes, at) =>
                {
                    writer.Write(bytes, at);
                    arrivals.Add(at.Microseconds);
                };
                for (int i = 0; i < lengths.Length; i++)
                {
                    // Instants near a real epoch so tshark prints ordinary dates; microseconds stay exact.
                    wire.A.Transmit(PacketBuffer.FromBytes(TestPackets.Udp(lengths[i], (ushort)(i + 1))), new Instant(1_700_000_000_000_000 + i * 250));
                }

                wire.DeliverDue(Instant.MaxValue);
                while (wire.B.TryReceive(Instant.MaxValue, out PacketBuffer? packet))
                {
                    packet.Dispose();
                }
            }

            (int exitCode, string output, string error) = Run("tshark", "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                "-T", "fields", "-E", "separator=,", "-e", "frame.len", "-e", "frame.time_epoch", "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "_ws.malformed");

            Assert.True(exitCode == 0, $"tshark exited with {exitCode}: {error}");
            string[][] rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(line => line.Split(',')).ToArray();
            Assert.Equal(lengths.Select(l => l.ToString(CultureInfo.InvariantCulture)), rows.Select(row => row[0]));
            Assert.Equal(arrivals.Select(us => us / 1_000_000m), rows.Select(row => decimal.Parse(row[1], CultureInfo.InvariantCulture)));
            Assert.All(rows, row => Assert.Equal("1", row[2]));   // 1 = "Good" (checksum verified)
            Assert.All(rows, row => Assert.Equal("1", row[3]));
            Assert.All(rows, row => Assert.Equal(string.Empty, row[4]));
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Equal(0, wire.Pool.LeasedCount);
    }

    [RequiresToolFact("tshark")]
    public void Tshark_ReadsAPcapLinkCapture_FrameLengthsMatchWhatWasWritten()
    {
        int[] lengths = [28, 64, 1400, 9000];
        string path = Path.Combine(Path.GetTempPath(), $"wirestack-links-{Guid.NewGuid():N}.pcap");
        try
        {
            using (var writer = new PcapWriter(File.Create(path), LinkMedium.Ip, leaveOpen: false))
            {
                var link = new PcapLink(new LoopbackLink(), writer);
                foreach (int length in lengths)
                {
                    link.Transmit(PacketBuffer.FromBytes(TestPackets.Udp(length)), Instant.FromSeconds(1));
                    Assert.True(link.TryReceive(Instant.FromSeconds(2), out PacketBuffer? packet));
                    packet.Dispose();
                }
            }

            (int exitCode, string output, string error) = Run("tshark", "-r", path, "-T", "fields", "-e", "frame.len");

            Assert.True(exitCode == 0, $"tshark exited with {exitCode}: {error}");
            string[] expected = lengths.SelectMany(l => new[] { l, l }).Select(l => l.ToString(CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(expected, output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static (int ExitCode, string Output, string Error) Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(RequiresToolFactAttribute.FindOnPath(tool) ?? tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"{tool} did not finish");
        return (process.ExitCode, output, error.GetAwaiter().GetResult());
    }
}
