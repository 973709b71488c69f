using System.Net;
using System.Net.Sockets;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Sockets;
using Wirestack.Stack;
using Wirestack.Tcp;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Scenarios;

/// <summary>Minimal reproductions of stack bugs the scenarios ran into, each asserting the correct (Linux-like)
/// behaviour. Skipped until the stack is fixed; the skip reason names the bug.</summary>
public sealed class StackBugReproTests
{
    [Fact]
    public void LostWindowUpdate_WithSmallNonZeroWindow_SenderProbesInsteadOfStallingForever()
    {
        var (sim, receiverHost, senderHost) = Net.TwoHosts(61);
        using var listener = new NetSocket(senderHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        using var receiver = new NetSocket(receiverHost, SocketType.Stream);
        receiver.Connection!.SetReceiveBufferSize(2048); // 2048 bytes of window
        receiver.Connect(Net.ServerHttp);
        using NetSocket sender = listener.Accept();
        receiver.Blocking = false;
        sim.RunFor(TimeSpan.FromMilliseconds(50));

        sender.Blocking = false;
        Assert.Equal(8000, sender.Send(new byte[8000]));
        sim.RunFor(TimeSpan.FromMilliseconds(100));
        // The receiver holds what came, unread: the window left is small but not zero, too small for the sender's
        // SWS rule; nothing is in flight.
        TcpConnection s = sender.Connection!;
        Assert.True(s.SendWindow > 0 && s.SendWindow < 1024, $"window {s.SendWindow}");
        Assert.Equal(s.SndUna, s.SndNxt);

        // The application reads; its window update is lost.
        sim.Wires[0].AToB = new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1), Loss = 1.0 };
        byte[] buffer = new byte[16384];
        int read = receiver.Receive(buffer, out _);
        sim.RunFor(TimeSpan.FromMilliseconds(10));
        sim.Wires[0].AToB = new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) };

        // Linux arms the probe timer whenever data waits and nothing is in flight (tcp_check_probe_timer), so the
        // probe's ACK brings the open window back. Here no timer is armed and the connection stalls for good.
        sim.RunFor(TimeSpan.FromSeconds(60));
        int more = 0;
        while (receiver.Receive(buffer, out SocketError e) is > 0 and var n && e == SocketError.Success)
        {
            more += n;
        }

        Assert.True(read + more > read, $"stalled: sender timer '{s.TimerName}', {s.SendQueued} bytes queued, window {s.SendWindow}");
    }

    [Fact]
    public void SmallNonZeroWindow_NothingInFlight_SenderFillsItThenProbes()
    {
        var options = new NetStackOptions();
        options.Tcp.ReceiveBufferDefault = 16384; // an 8192-byte window: 5 full segments and 952 bytes
        options.Tcp.WindowScaling = false;
        var (sim, senderHost, receiverHost) = Net.TwoHosts(62, serverOptions: options);
        using var listener = new NetSocket(receiverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        using var sender = new NetSocket(senderHost, SocketType.Stream);
        sender.Connect(Net.ServerHttp);
        using NetSocket receiver = listener.Accept(); // never reads
        sender.Connection!.SetSendBufferSize(64 * 1024);
        sender.Blocking = false;
        Assert.Equal(64 * 1024, sender.Send(new byte[64 * 1024]));
        sim.RunFor(TimeSpan.FromSeconds(10));

        TcpConnection s = sender.Connection!;
        Assert.True(receiver.Connection!.ReceiveQueued == 8192 && s.SendWindow == 0 && s.TimerName == "persist",
            $"receiver holds {receiver.Connection.ReceiveQueued} of 8192; sender window {s.SendWindow}, {s.SendQueued} bytes queued, timer '{s.TimerName}', probes {senderHost.Counters.Tcp.TCPWinProbe}");
    }

    [Fact]
    public void SynAckWindow_IsNotScaled()
    {
        var options = new NetStackOptions();
        options.Tcp.ReceiveBufferDefault = 16384; // the server offers 8192 bytes, with a window scale option
        var (sim, clientHost, serverHost) = Net.TwoHosts(63, serverOptions: options);
        using var listener = new NetSocket(serverHost, SocketType.Stream);
        listener.Bind(new IPEndPoint(IPAddress.Any, 80));
        listener.Listen(8);
        using var client = new NetSocket(clientHost, SocketType.Stream);
        client.Connect(Net.ServerHttp);

        Assert.True(client.Connection!.SendScale > 0);
        Assert.Equal(8192u, client.Connection.SendWindow);
    }
}
