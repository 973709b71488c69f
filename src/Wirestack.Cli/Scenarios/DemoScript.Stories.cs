using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Cli.Scenarios;

internal sealed partial class DemoScript
{
    private const ushort ClosedPort = 81;
    private const ushort SilentPort = 80;

    private void RunRefusedStory()
    {
        _say.Heading("4. Stories: two ways a connect fails, and how the stack explains each");
        _say.Line(" a. Nobody listens");
        using var socket = new NetSocket(Alice, SocketType.Stream);
        Instant start = Sim.Now;
        _say.At(start, $"alice connects to bob, {s_bob} port {ClosedPort}, where nothing listens");
        SocketError error = socket.Connect(s_bob, ClosedPort);
        Tell("refused", error, socket.ErrorCause, start, SocketError.ConnectionRefused);
    }

    private void RunSilentHostStory()
    {
        _say.Line();
        _say.Line(" b. A silent host");
        var syns = new List<Instant>();
        Action<ReadOnlySpan<byte>, Instant>? capture = AliceCarol.Tap;
        AliceCarol.Tap = (packet, time) =>
        {
            capture?.Invoke(packet, time);
            if (IsSyn(packet)) // only alice sends on this wire: carol has no routes
            {
                syns.Add(time);
            }
        };

        using var socket = new NetSocket(Alice, SocketType.Stream);
        Instant start = Sim.Now;
        _say.At(start, $"alice connects to carol, {s_carol} port {SilentPort}; carol hears every SYN but has no route to answer");
        var wall = Stopwatch.StartNew();
        SocketError error = socket.Connect(s_carol, SilentPort);
        wall.Stop();
        AliceCarol.Tap = capture;
        for (int i = 0; i < syns.Count; i++)
        {
            string when = i == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $", {(syns[i] - syns[0]).TotalSeconds:0.###} s after the first");
            _say.At(syns[i], $"  SYN {i + 1} reaches carol{when}");
        }

        if (syns.Count > 1)
        {
            IEnumerable<string> gaps = syns.Skip(1).Select((t, i) => Seconds(t - syns[i]));
            string last = Seconds(Sim.Now - (syns[^1] - WireDelay)); // the SYN left alice one wire delay before it arrived
            _say.Note($"alice waited {string.Join(", ", gaps)} s between SYNs (doubling each time), and gave up {last} s after the last.");
        }

        Tell("timeout", error, socket.ErrorCause, start, SocketError.TimedOut);
        _say.Note(string.Create(CultureInfo.InvariantCulture,
            $"{(Sim.Now - start).TotalSeconds:0} s of virtual time took {wall.Elapsed.TotalMilliseconds:0.#} ms of real time."));
    }

    private void Tell(string name, SocketError error, string? cause, Instant start, SocketError expected)
    {
        Stories.Add(new StoryOutcome(name, error, cause, Sim.Now - start));
        string after = Units.FormatDuration(Sim.Now - start);
        _say.At(Sim.Now, error == SocketError.Success
            ? $"connected after {after} (not what this story expects)"
            : $"connect failed after {after}: {SocketErrors.ToErrno(error)} ({error})");
        if (cause is not null)
        {
            _say.Note($"why: {cause}");
        }

        Expect(error == expected, $"story '{name}': connect gave {SocketErrors.ToErrno(error)}, not {SocketErrors.ToErrno(expected)}");
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static bool IsSyn(ReadOnlySpan<byte> packet) =>
        IPv4Packet.TryCreate(packet, out IPv4Packet ip) == HeaderError.None &&
        TcpSegment.TryCreate(ip.Payload, out TcpSegment segment) == HeaderError.None && segment.Flags == TcpFlags.Syn;
}
