using System.Globalization;
using System.Text.Json.Nodes;
using Wirestack.Stack;
using Wirestack.Tcp;

namespace Wirestack.Cli.Output;

/// <summary>
/// The stack's TCP sockets as <c>ss -tan</c> shows them: state, Recv-Q, Send-Q, local and peer address. As in ss, a
/// listener's Recv-Q is its accept queue and its Send-Q the backlog; a connection's are the bytes waiting to be read
/// and the bytes not yet acknowledged (or not yet sent).
/// </summary>
internal static class SocketTable
{
    public sealed record Row(string State, long RecvQ, long SendQ, string Local, string Peer);

    /// <summary>The rows, listeners first; takes the stack's lock.</summary>
    public static List<Row> Rows(NetStack stack)
    {
        var rows = new List<Row>();
        lock (stack.SyncRoot)
        {
            foreach (TcpListener listener in stack.Tcp.Listeners.OrderBy(l => l.Port))
            {
                rows.Add(new Row("LISTEN", listener.AcceptQueueLength, listener.Backlog, $"{listener.Address}:{listener.Port}", "0.0.0.0:*"));
            }

            foreach (TcpConnection c in stack.Tcp.Connections.OrderBy(c => c.Tuple.LocalPort).ThenBy(c => c.Tuple.RemoteAddress.Value).ThenBy(c => c.Tuple.RemotePort))
            {
                rows.Add(new Row(c.State.SsName(), c.ReceiveQueued, c.SendQueued,
                    $"{c.Tuple.LocalAddress}:{c.Tuple.LocalPort}", $"{c.Tuple.RemoteAddress}:{c.Tuple.RemotePort}"));
            }
        }

        return rows;
    }

    public static void Print(TextWriter output, NetStack stack)
    {
        List<Row> rows = Rows(stack);
        int local = Math.Max(20, rows.Select(r => r.Local.Length).DefaultIfEmpty(0).Max() + 2);
        output.WriteLine($"{"State",-11}{"Recv-Q",7} {"Send-Q",7}  {"Local Address:Port".PadRight(local)}Peer Address:Port");
        foreach (Row row in rows)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.State,-11}{row.RecvQ,7} {row.SendQ,7}  {row.Local.PadRight(local)}{row.Peer}"));
        }

        if (rows.Count == 0)
        {
            output.WriteLine("(no TCP sockets)");
        }
    }

    public static JsonArray Json(NetStack stack)
    {
        var array = new JsonArray();
        foreach (Row row in Rows(stack))
        {
            array.Add(new JsonObject
            {
                ["state"] = row.State,
                ["recv_q"] = row.RecvQ,
                ["send_q"] = row.SendQ,
                ["local"] = row.Local,
                ["peer"] = row.Peer,
            });
        }

        return array;
    }
}
