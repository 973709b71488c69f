using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Tests.Support;

namespace Wirestack.Tests.Sockets;

public sealed class SocketOptionTests
{
    [Fact]
    [Trait("Seed", "004 §2.3")]
    public void ReceiveBuffer_IsClampedToRmemMaxAndDoubled()
    {
        var (_, host, _) = Net.TwoHosts(41);
        using var s = new NetSocket(host, SocketType.Stream);
        Assert.Equal(131072, s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer)); // tcp_rmem[1]
        Assert.Equal(SocketError.Success, s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer, 65536));
        Assert.Equal(131072, s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer));
        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer, 10_000_000);
        Assert.Equal(2 * 212992, s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveBuffer)); // rmem_max
    }

    [Fact]
    public void LinuxOptions_RoundTrip_AndRejectImpossibleValues()
    {
        var (_, host, _) = Net.TwoHosts(42);
        using var s = new NetSocket(host, SocketType.Stream);
        Assert.Equal(6, s.GetSocketOption(LinuxSocketOption.TcpSynCount));
        Assert.Equal(SocketError.Success, s.SetSocketOption(LinuxSocketOption.TcpSynCount, 2));
        Assert.Equal(2, s.GetSocketOption(LinuxSocketOption.TcpSynCount));
        Assert.Equal(SocketError.InvalidArgument, s.SetSocketOption(LinuxSocketOption.TcpSynCount, 0));
        Assert.Equal(SocketError.InvalidArgument, s.SetSocketOption(LinuxSocketOption.TcpMaxSegment, 10));
        Assert.Equal(SocketError.Success, s.SetSocketOption(LinuxSocketOption.TcpUserTimeout, 5000));
        Assert.Equal(5000, s.GetSocketOption(LinuxSocketOption.TcpUserTimeout));
        Assert.Equal(7200, s.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime));
        Assert.Equal(SocketError.InvalidArgument, s.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 0));
    }

    [Fact]
    public void SoError_IsReadAndCleared()
    {
        var (sim, host, _) = Net.TwoHosts(43);
        using var s = new NetSocket(host, SocketType.Stream) { Blocking = false };
        s.Connect(Wirestack.Wire.IPv4Address.Parse("10.0.0.2"), 99);
        sim.RunFor(TimeSpan.FromMilliseconds(50));
        Assert.Equal((int)SocketError.ConnectionRefused, s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error));
        Assert.Equal(0, s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error));
    }
}
