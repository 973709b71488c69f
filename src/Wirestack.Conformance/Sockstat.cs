using System.Globalization;
using Wirestack.Sockets;
using Wirestack.Tcp;

namespace Wirestack.Conformance;

/// <summary>
/// FreeBSD's <c>sockstat</c> over the script's open sockets (the FreeBSD suite checks a connection's state with
/// <c>sockstat -4 -P tcp -s | grep packetdril | grep -c TIME_WAIT</c>): one line per TCP socket as sockstat prints it,
/// user, command (packetdrill, cut to ten characters as sockstat cuts it), pid, fd, protocol, local and foreign
/// address, and with <c>-s</c> the connection's state in FreeBSD's names. Options: <c>-4</c>, <c>-s</c>, <c>-c</c>
/// (connected only), <c>-l</c> (listening only), <c>-P tcp</c>.
/// </summary>
internal static class Sockstat
{
    public static Func<IEnumerable<(long Fd, NetSocket Socket)>, List<string>> Command(List<string> words, string command)
    {
        bool states = false, connected = false, listening = false;
        for (int i = 1; i < words.Count; i++)
        {
            string w = words[i];
            if (w == "-P" && i + 1 < words.Count)
            {
                if (words[++i] != "tcp")
                {
                    throw new ScriptSkipException($"shell command `{command}` (sockstat -P {words[i]}: TCP sockets only)");
                }

                continue;
            }

            if (!w.StartsWith('-') || w.Length < 2)
            {
                throw new ScriptSkipException($"shell command `{command}` (sockstat {w})");
            }

            foreach (char flag in w.AsSpan(1))
            {
                switch (flag)
                {
                    case '4': break; // the stack is IPv4 only
                    case 's': states = true; break;
                    case 'c': connected = true; break;
                    case 'l': listening = true; break;
                    default: throw new ScriptSkipException($"shell command `{command}` (sockstat -{flag})");
                }
            }
        }

        return sockets =>
        {
            var lines = new List<string> { "USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS       " + (states ? "PATH STATE   CONN STATE" : "") };
            foreach ((long fd, NetSocket socket) in sockets.OrderBy(s => s.Fd))
            {
                if (socket.ProtocolType != System.Net.Sockets.ProtocolType.Tcp)
                {
                    continue;
                }

                TcpState state = socket.IsListening ? TcpState.Listen : socket.Connection?.State ?? TcpState.Closed;
                bool isListening = state == TcpState.Listen;
                if ((connected && (isListening || socket.RemoteEndPoint is null)) || (listening && !isListening))
                {
                    continue;
                }

                string local = socket.LocalEndPoint?.ToString() ?? "*:*";
                string foreign = socket.RemoteEndPoint?.ToString() ?? "*:*";
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"root     packetdril 1     {fd,-3} tcp4   {local,-21} {foreign,-21} {(states ? "             " + Name(state) : "")}"));
            }

            return lines;
        };
    }

    /// <summary>FreeBSD's name of a TCP state (tcpstates[] in netinet/tcp_fsm.h).</summary>
    private static string Name(TcpState state) => state switch
    {
        TcpState.Closed => "CLOSED",
        TcpState.Listen => "LISTEN",
        TcpState.SynSent => "SYN_SENT",
        TcpState.SynReceived => "SYN_RCVD",
        TcpState.Established => "ESTABLISHED",
        TcpState.CloseWait => "CLOSE_WAIT",
        TcpState.FinWait1 => "FIN_WAIT_1",
        TcpState.Closing => "CLOSING",
        TcpState.LastAck => "LAST_ACK",
        TcpState.FinWait2 => "FIN_WAIT_2",
        TcpState.TimeWait => "TIME_WAIT",
        _ => state.ToString().ToUpperInvariant(),
    };
}
