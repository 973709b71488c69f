using System.Net.Sockets;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Time;
using Wirestack.Wire;

namespace Wirestack.Cli.Scenarios;

/// <summary>
/// ping(8) in a simulation: an echo request every <see cref="Interval"/>, each reply timed by the <see cref="Pinger"/>.
/// After the last request it waits <see cref="LastReplyWait"/> for the answer.
/// </summary>
internal sealed class PingRun
{
    /// <summary>The ICMP identifier (ping uses its pid; "WS" here).</summary>
    public const ushort Identifier = 0x5753;

    /// <summary>Echo payload bytes (ping's default 56, so 64 bytes of ICMP).</summary>
    public const int PayloadBytes = 56;

    private readonly Simulator _sim;
    private readonly NetStack _from;
    private readonly IPv4Address _to;

    public PingRun(Simulator sim, NetStack from, IPv4Address to)
    {
        _sim = sim;
        _from = from;
        _to = to;
    }

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan LastReplyWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Called when a request goes out: (time, sequence).</summary>
    public Action<Instant, ushort>? OnSent { get; init; }

    /// <summary>Called when a reply comes back: (time, sequence, round-trip time).</summary>
    public Action<Instant, ushort, TimeSpan>? OnReply { get; init; }

    /// <summary>Called when a request cannot be sent: (time, sequence, error).</summary>
    public Action<Instant, ushort, SocketError>? OnSendError { get; init; }

    public PingResult Run(int count)
    {
        using var pinger = new Pinger(_from, Identifier);
        var result = new PingResult();
        Instant first = _sim.Now;
        var sentTimes = new Dictionary<ushort, Instant>();
        int reported = 0;
        for (int i = 0; i < count; i++)
        {
            var sequence = (ushort)(i + 1);
            Instant sentAt = _sim.Now;
            SocketError error = pinger.Send(_to, sequence, PayloadBytes);
            if (error == SocketError.Success)
            {
                result.Sent++;
                sentTimes[sequence] = sentAt;
                OnSent?.Invoke(sentAt, sequence);
            }
            else
            {
                result.Errors++;
                OnSendError?.Invoke(sentAt, sequence, error);
            }

            bool last = i == count - 1;
            Instant windowEnd = sentAt + (last ? LastReplyWait : Interval);
            _sim.RunUntilCore(() => error != SocketError.Success || pinger.HasReply(sequence), windowEnd);
            reported = Report(pinger, reported, result, sentTimes);
            if (!last)
            {
                _sim.RunUntilCore(() => false, windowEnd); // the rest of the interval: late replies still count
                reported = Report(pinger, reported, result, sentTimes);
            }
        }

        result.Elapsed = _sim.Now - first;
        return result;
    }

    private int Report(Pinger pinger, int reported, PingResult result, Dictionary<ushort, Instant> sentTimes)
    {
        for (; reported < pinger.Replies.Count; reported++)
        {
            (ushort sequence, TimeSpan rtt) = pinger.Replies[reported];
            result.Rtts.Add(rtt);
            OnReply?.Invoke(sentTimes[sequence] + rtt, sequence, rtt);
        }

        return reported;
    }
}
