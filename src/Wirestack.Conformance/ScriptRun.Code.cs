using System.Globalization;
using Wirestack.Tcp;

namespace Wirestack.Conformance;

/// <summary><c>%{ python }%</c> events (spec §7): packetdrill snapshots TCP_INFO of the socket under test and checks
/// the asserts afterwards. The interpreter understands the common form, <c>assert tcpi_x OP value[, message]</c>,
/// for the tcpi fields the stack can report; anything else skips the script naming it.</summary>
internal sealed partial class ScriptRun
{
    internal sealed record Assertion(string Left, string Operator, string Right, string Text);

    private static readonly string[] s_operators = ["==", "!=", "<=", ">=", "<", ">"];

    /// <summary>The tcpi_* fields the stack can answer, and how.</summary>
    private static readonly Dictionary<string, Func<TcpConnection, Flow?, long>> s_tcpInfo = new()
    {
        // bytes of ours the peer acknowledged (Linux tp->bytes_acked, advanced by every move of SND.UNA in tcp_ack):
        // on an active open that includes the SYN (SND.UNA - ISS); a passive open's child starts with SND.UNA = ISS + 1
        // (tcp_create_openreq_child), so its SYN-ACK is not counted. The ISS is the one the flow saw in the stack's SYN.
        ["tcpi_bytes_acked"] = (c, f) => f?.LiveLocalIsn is { } iss
            ? Math.Max(0, c.SndUna - new Wire.SeqNumber(iss) - (f.ActiveOpen ? 0 : 1))
            : 0,
        ["tcpi_snd_cwnd"] = (c, _) => c.Congestion is { } cc && c.Mss > 0 ? cc.Cwnd / c.Mss : 0,
        ["tcpi_rto"] = (c, _) => (long)c.Rtt.CurrentRto.TotalMicroseconds,
        ["tcpi_snd_mss"] = (c, _) => c.Mss,
        ["tcpi_advmss"] = (c, _) => c.AdvertisedMss,
        ["tcpi_rcv_mss"] = (c, _) => c.ReceiveMss,
        ["tcpi_retransmits"] = (c, _) => c.Retransmits,
        ["tcpi_total_retrans"] = (c, _) => c.TotalRetransmits,
    };

    /// <summary>Parses a code block into asserts, or throws a skip naming what it cannot evaluate.</summary>
    internal static List<Assertion> ParseCode(string code)
    {
        var list = new List<Assertion>();
        foreach (string raw in code.Split([';', '\n']))
        {
            string statement = raw.Trim();
            if (statement.Length == 0 || statement.StartsWith('#'))
            {
                continue;
            }

            if (!statement.StartsWith("assert ", StringComparison.Ordinal))
            {
                throw new ScriptSkipException($"python code '{statement}'");
            }

            string condition = statement["assert ".Length..];
            int comma = condition.IndexOf(',');
            if (comma >= 0)
            {
                condition = condition[..comma];
            }

            string? op = s_operators.FirstOrDefault(o => condition.Contains(o, StringComparison.Ordinal));
            if (op is null)
            {
                throw new ScriptSkipException($"python code '{statement}'");
            }

            int at = condition.IndexOf(op, StringComparison.Ordinal);
            string left = condition[..at].Trim();
            string right = condition[(at + op.Length)..].Trim();
            foreach (string operand in new[] { left, right })
            {
                if (!IsNumber(operand) && !s_tcpInfo.ContainsKey(operand))
                {
                    throw new ScriptSkipException(operand.StartsWith("tcpi_", StringComparison.Ordinal)
                        ? $"TCP_INFO field {operand} (python assert)"
                        : $"python expression '{operand}'");
                }
            }

            list.Add(new Assertion(left, op, right, statement));
        }

        return list;
    }

    private static bool IsNumber(string text) => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);

    private bool RunCode(CodeEvent ev)
    {
        if (!AdvanceTo(Scheduled(ev, false)))
        {
            return false;
        }

        TcpConnection connection = _underTest?.Connection ?? throw Fail(ev, "TCP_INFO asserted, but there is no connected socket under test");
        foreach (Assertion a in ParseCode(ev.Code))
        {
            long left = Value(a.Left, connection, _implicitFlow);
            long right = Value(a.Right, connection, _implicitFlow);
            bool ok = a.Operator switch
            {
                "==" => left == right,
                "!=" => left != right,
                "<=" => left <= right,
                ">=" => left >= right,
                "<" => left < right,
                _ => left > right,
            };
            if (!ok)
            {
                throw Fail(ev, $"'{a.Text}' failed at {Seconds(NowUs)} s: {a.Left} = {left}, {a.Right} = {right}");
            }
        }

        Finished(NowUs, false);
        return true;
    }

    private static long Value(string operand, TcpConnection c, Flow? flow) =>
        IsNumber(operand) ? long.Parse(operand, CultureInfo.InvariantCulture) : s_tcpInfo[operand](c, flow);
}
