using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Wirestack.Stack;

namespace Wirestack.Cli.Output;

/// <summary>The machine-readable output: one JSON object per run, built with <see cref="JsonNode"/> so that the
/// keys keep the order the documentation gives them.</summary>
internal static class JsonOutput
{
    private static readonly JsonSerializerOptions s_options = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // keep "→" and quotes in explanations readable
    };

    public static void Write(TextWriter output, JsonObject value) => output.WriteLine(value.ToJsonString(s_options));

    /// <summary>Every counter of a host, zeros included: <c>{"Tcp":{"ActiveOpens":1,...},...}</c>.</summary>
    public static JsonObject Counters(NetStack host)
    {
        var groups = new JsonObject();
        foreach ((string group, SortedDictionary<string, long> counters) in host.SnapshotCounters())
        {
            var values = new JsonObject();
            foreach ((string name, long value) in counters)
            {
                values[name] = value;
            }

            groups[group] = values;
        }

        return groups;
    }

    /// <summary>The counters of several hosts: <c>{"alice":{...},"bob":{...}}</c>.</summary>
    public static JsonObject Counters(IEnumerable<NetStack> hosts)
    {
        var result = new JsonObject();
        foreach (NetStack host in hosts)
        {
            result[host.Name] = Counters(host);
        }

        return result;
    }

    /// <summary>Seconds rounded to the microsecond (the virtual clock's resolution).</summary>
    public static double Seconds(TimeSpan span) => Math.Round(span.TotalSeconds, 6);

    /// <summary>Milliseconds rounded to the microsecond.</summary>
    public static double Milliseconds(TimeSpan span) => Math.Round(span.TotalMilliseconds, 3);

    public static JsonArray Array(IEnumerable<double> values)
    {
        var array = new JsonArray();
        foreach (double value in values)
        {
            array.Add(value);
        }

        return array;
    }
}
