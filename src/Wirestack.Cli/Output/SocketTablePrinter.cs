using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Wirestack.Sockets;
using Wirestack.Stack;

namespace Wirestack.Cli.Output;

/// <summary>
/// Prints a socket table (<see cref="SocketTable"/>) the way <c>ss -tuanoi</c> does: one line per socket with its
/// state, queues and endpoints, and for TCP the details ss puts after them (timer, rto, rtt, cwnd, retransmits), or
/// as JSON.
/// </summary>
public sealed class SocketTablePrinter
{
    private readonly TextWriter _output;

    public SocketTablePrinter(TextWriter output)
    {
        _output = output;
    }

    /// <summary>Indentation before each line. Defaults to none.</summary>
    public string Indent { get; init; } = "";

    public void Print(IReadOnlyList<SocketTableRow> rows, int omitted = 0)
    {
        int local = Math.Max(20, rows.Select(r => r.Local.Length).DefaultIfEmpty(0).Max() + 2);
        int peer = Math.Max(20, rows.Select(r => r.Remote.Length).DefaultIfEmpty(0).Max() + 2);
        int state = Math.Max(11, rows.Select(r => r.State.Length).DefaultIfEmpty(0).Max() + 2);
        _output.WriteLine($"{Indent}{"Netid",-6}{"State".PadRight(state)}{"Recv-Q",7} {"Send-Q",7}  {"Local Address:Port".PadRight(local)}{"Peer Address:Port".PadRight(peer)}".TrimEnd());
        foreach (SocketTableRow row in rows)
        {
            string line = $"{Indent}{row.Protocol,-6}{row.State.PadRight(state)}{row.RecvQ,7} {row.SendQ,7}  {row.Local.PadRight(local)}{row.Remote.PadRight(peer)}";
            _output.WriteLine((line + Details(row)).TrimEnd());
        }

        if (omitted > 0)
        {
            _output.WriteLine($"{Indent}... and {omitted} more");
        }
    }

    /// <summary>What <c>ss -oi</c> adds after a socket: <c>timer:(on,1.2s,3) rto:3200 rtt:10/5 cwnd:1 ssthresh:4
    /// mss:1448 snd_wnd:0 retrans:3/7</c>, the socket's drops (UDP), and its pending error.</summary>
    public static string Details(SocketTableRow row)
    {
        var parts = new List<string>();
        if (row.Timer != "off" && row.TimerRemaining is { } remaining)
        {
            parts.Add($"timer:({row.Timer},{Duration(remaining)},{row.Retransmits})");
        }

        if (row.Protocol == "tcp" && row.State != "LISTEN")
        {
            if (row.Rto is { } rto) parts.Add($"rto:{Ms(rto)}");
            if (row.Rtt is { } rtt) parts.Add($"rtt:{Ms(rtt)}/{Ms(row.RttVar ?? TimeSpan.Zero)}");
            if (row.Cwnd is { } cwnd) parts.Add($"cwnd:{cwnd}");
            if (row.Ssthresh is { } ssthresh) parts.Add($"ssthresh:{ssthresh}");
            if (row.Mss is { } mss) parts.Add($"mss:{mss}");
            if (row.SendWindow is { } wnd) parts.Add($"snd_wnd:{wnd}");
            if (row.TotalRetransmits > 0) parts.Add($"retrans:{row.Retransmits}/{row.TotalRetransmits}");
            if (row.Orphan) parts.Add("orphan");
        }

        if (row.Drops > 0)
        {
            parts.Add($"drops:{row.Drops}");
        }

        if (row.Error != SocketError.Success)
        {
            parts.Add($"error:{SocketErrors.ToErrno(row.Error)}");
        }

        return parts.Count == 0 ? "" : " " + string.Join(' ', parts);
    }

    /// <summary>The table as JSON: one object per socket.</summary>
    public static JsonArray ToJson(IEnumerable<SocketTableRow> rows)
    {
        var array = new JsonArray();
        foreach (SocketTableRow r in rows)
        {
            array.Add(new JsonObject
            {
                ["netid"] = r.Protocol,
                ["state"] = r.State,
                ["recv_q"] = r.RecvQ,
                ["send_q"] = r.SendQ,
                ["local"] = r.Local,
                ["peer"] = r.Remote,
                ["timer"] = r.Timer == "off" ? null : new JsonObject
                {
                    ["name"] = r.Timer,
                    ["expires_s"] = r.TimerRemaining is { } t ? JsonOutput.Seconds(t) : null,
                    ["retransmits"] = r.Retransmits,
                },
                ["retrans_total"] = r.TotalRetransmits,
                ["cwnd"] = r.Cwnd,
                ["ssthresh"] = r.Ssthresh,
                ["mss"] = r.Mss,
                ["rtt_ms"] = r.Rtt is { } rtt ? JsonOutput.Milliseconds(rtt) : null,
                ["rttvar_ms"] = r.RttVar is { } var ? JsonOutput.Milliseconds(var) : null,
                ["rto_ms"] = r.Rto is { } rto ? JsonOutput.Milliseconds(rto) : null,
                ["snd_wnd"] = r.SendWindow,
                ["drops"] = r.Drops,
                ["errno"] = r.Error == SocketError.Success ? null : SocketErrors.ToErrno(r.Error),
                ["cause"] = r.Cause,
                ["orphan"] = r.Orphan,
            });
        }

        return array;
    }

    private static string Ms(TimeSpan span) => Math.Round(span.TotalMilliseconds, 3).ToString(CultureInfo.InvariantCulture);

    /// <summary>ss's way: "210ms", "1.21s", "2min3s".</summary>
    private static string Duration(TimeSpan span) =>
        span < TimeSpan.FromSeconds(1) ? $"{Math.Round(span.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}ms" :
        span < TimeSpan.FromMinutes(1) ? $"{Math.Round(span.TotalSeconds, 3).ToString(CultureInfo.InvariantCulture)}s" :
        $"{(int)span.TotalMinutes}min{span.Seconds}s";
}
