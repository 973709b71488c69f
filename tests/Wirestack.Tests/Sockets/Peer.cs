using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;

namespace Wirestack.Tests.Sockets;

/// <summary>The other end in the conformance suite: plain async NetSocket code on the simulator's context.</summary>
internal static class Peer
{
    public static async Task EchoOneAsync(NetSocket listener)
    {
        using NetSocket socket = await listener.AcceptAsync();
        byte[] buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer)) > 0)
        {
            await socket.SendAsync(buffer.AsMemory(0, n));
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Sends <paramref name="data"/>, reads exactly as many bytes back, then sends FIN and waits for the
    /// other side's.</summary>
    public static async Task<byte[]> SendAndReceiveEchoAsync(NetStack stack, IPEndPoint remote, byte[] data)
    {
        using var socket = new NetSocket(stack, SocketType.Stream);
        await socket.ConnectAsync(remote);
        Task<byte[]> receiving = ReceiveExactlyAsync(socket, data.Length);
        await socket.SendAsync(data);
        byte[] echoed = await receiving;
        socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await socket.ReceiveAsync(new byte[1]));
        return echoed;
    }

    /// <summary>Accepts, reads exactly <paramref name="length"/> bytes, sends <paramref name="reply"/> and FIN,
    /// and waits for the other side's FIN.</summary>
    public static async Task<byte[]> ReceiveThenSendAsync(NetSocket listener, int length, byte[] reply)
    {
        using NetSocket socket = await listener.AcceptAsync();
        byte[] received = await ReceiveExactlyAsync(socket, length);
        await socket.SendAsync(reply);
        socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await socket.ReceiveAsync(new byte[1]));
        return received;
    }

    public static async Task<byte[]> ReceiveExactlyAsync(NetSocket socket, int length)
    {
        byte[] buffer = new byte[length];
        int got = 0;
        while (got < length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(got, Math.Min(16384, length - got)));
            Assert.True(n > 0, $"end of stream after {got} of {length} bytes");
            got += n;
        }

        return buffer;
    }

    public static async Task AcceptSendAndCloseAsync(NetSocket listener, byte[] data)
    {
        NetSocket socket = await listener.AcceptAsync();
        await socket.SendAsync(data);
        socket.Close();
    }

    public static async Task AcceptAndResetAsync(NetSocket listener)
    {
        NetSocket socket = await listener.AcceptAsync();
        socket.Connection!.Linger = TimeSpan.Zero;
        socket.Close();
    }

    public static async Task<byte[]> ReceiveToEndAsync(NetSocket socket)
    {
        var received = new MemoryStream();
        byte[] buffer = new byte[16384];
        int n;
        while ((n = await socket.ReceiveAsync(buffer)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return received.ToArray();
    }
}
