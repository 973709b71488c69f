using System.Globalization;
using System.Text;
using Wirestack.Stack;

namespace Wirestack.Simulation.Scenarios;

/// <summary>Something that happened, at virtual time <paramref name="T"/> (seconds), on <paramref name="Host"/>.</summary>
public sealed record ScenarioEvent(double T, string Host, string What);

/// <summary>An error a socket call reported: the <see cref="System.Net.Sockets.SocketError"/> name, the errno Linux would
/// give, and the explanation built from what the stack saw.</summary>
public sealed record ScenarioError(double T, string Host, string Socket, string Error, string Errno, string Explanation);

/// <summary>A counter that tells the story, with what it counts.</summary>
public sealed record ScenarioCounter(string Host, string Group, string Name, long Value, string Meaning);

/// <summary>What the scenario expected, and whether it happened.</summary>
public sealed record ScenarioCheck(string What, bool Passed);

/// <summary>A host's socket table (<c>ss</c>) at a moment of the story.</summary>
public sealed record ScenarioSockets(double T, string Host, string Title, IReadOnlyList<SocketTableRow> Rows, int Omitted);

/// <summary>What a scenario run produced.</summary>
public sealed class ScenarioResult
{
    public required string Scenario { get; init; }

    public required string Description { get; init; }

    public required int Seed { get; init; }

    public required string Profile { get; init; }

    /// <summary>Virtual seconds the story took.</summary>
    public required double SimulatedSeconds { get; init; }

    /// <summary>The timeline, in time order.</summary>
    public required IReadOnlyList<ScenarioEvent> Events { get; init; }

    public required IReadOnlyList<ScenarioError> Errors { get; init; }

    /// <summary>Every counter of every host at the end (<see cref="NetStack.SnapshotCounters"/>), by host.</summary>
    public required SortedDictionary<string, SortedDictionary<string, SortedDictionary<string, long>>> Counters { get; init; }

    /// <summary>The counters that tell this story.</summary>
    public required IReadOnlyList<ScenarioCounter> KeyCounters { get; init; }

    /// <summary>Socket tables taken during the story.</summary>
    public required IReadOnlyList<ScenarioSockets> Sockets { get; init; }

    /// <summary>The conclusion, a few lines.</summary>
    public required IReadOnlyList<string> Summary { get; init; }

    /// <summary>Figures the story measured ("connect_seconds" → 127), for tests and JSON.</summary>
    public required SortedDictionary<string, double> Facts { get; init; }

    public required IReadOnlyList<ScenarioCheck> Checks { get; init; }

    /// <summary>Packets written to the pcap (0 without one).</summary>
    public long PcapPackets { get; init; }

    /// <summary>True when everything the scenario expected happened.</summary>
    public bool Passed => Checks.All(c => c.Passed);

    /// <summary>A counter's final value on <paramref name="host"/> (0 when absent); group "Link" sums the devices.</summary>
    public long Counter(string host, string group, string name)
    {
        if (!Counters.TryGetValue(host, out var groups))
        {
            return 0;
        }

        if (group == "Link")
        {
            return groups.Where(g => g.Key.StartsWith("Link:", StringComparison.Ordinal)).Sum(g => g.Value.GetValueOrDefault(name));
        }

        return groups.TryGetValue(group, out var counters) ? counters.GetValueOrDefault(name) : 0;
    }

    /// <summary>The events and errors as readable lines, in time order: <c>[  12.345 s] host  what</c>.</summary>
    public string Timeline
    {
        get
        {
            int width = Math.Max(6, Events.Select(e => e.Host.Length).Concat(Errors.Select(e => e.Host.Length)).DefaultIfEmpty(0).Max());
            var lines = new List<(double T, int Order, string Text)>();
            int order = 0;
            foreach (ScenarioEvent e in Events)
            {
                lines.Add((e.T, order++, Stamp(e.T) + e.Host.PadRight(width) + "  " + e.What));
            }

            foreach (ScenarioError e in Errors)
            {
                lines.Add((e.T, order++, Stamp(e.T) + e.Host.PadRight(width) + "  " + $"{e.Socket}: {e.Errno} ({e.Error})" +
                    Environment.NewLine + new string(' ', 14 + width) + "why: " + e.Explanation));
            }

            var text = new StringBuilder();
            foreach (var line in lines.OrderBy(l => l.T).ThenBy(l => l.Order))
            {
                text.Append(line.Text).Append('\n');
            }

            return text.ToString();
        }
    }

    private static string Stamp(double t) => string.Create(CultureInfo.InvariantCulture, $"[{t,8:0.000} s] ");
}
