using System.Diagnostics.Tracing;

namespace Wirestack.Cli.Bench;

/// <summary>
/// A simple in-process allocation profiler: listens to the runtime's GCAllocationTick events (one about every
/// 100 KB allocated, naming the type and size of the object that crossed the line) and counts them by type and
/// object size. The counts are a sample proportional to the bytes each kind allocates.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly Dictionary<string, long> _samples = [];
    private long _total;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null)
        {
            return;
        }

        string type = "?";
        string size = "";
        for (int i = 0; i < e.Payload.Count; i++)
        {
            string? name = e.PayloadNames?[i];
            if (name == "TypeName")
            {
                type = e.Payload[i]?.ToString() ?? "?";
            }
            else if (name == "ObjectSize")
            {
                size = $" ({e.Payload[i]} B objects)";
            }
        }

        lock (_samples)
        {
            string key = type + size;
            _samples[key] = _samples.GetValueOrDefault(key) + 1;
            _total++;
        }
    }

    /// <summary>The kinds seen, most sampled first, with their share of the samples.</summary>
    public IReadOnlyList<(string Kind, double Share)> Top(int count)
    {
        lock (_samples)
        {
            return _samples.OrderByDescending(p => p.Value).Take(count)
                .Select(p => (p.Key, _total == 0 ? 0.0 : (double)p.Value / _total)).ToList();
        }
    }
}
