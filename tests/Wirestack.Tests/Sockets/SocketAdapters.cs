using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Wirestack.Sockets;
using Wirestack.Stack;

namespace Wirestack.Tests.Sockets;

/// <summary>One user surface of Wirestack sockets, as the conformance suite drives it.</summary>
public interface ISocketAdapter
{
    string Surface { get; }

    /// <summary>The exception type a failed receive surfaces as on this surface.</summary>
    Type ReceiveErrorType { get; }

    ValueTask<IConnectionAdapter> ConnectAsync(NetStack stack, IPEndPoint remote);

    ValueTask<IConnectionAdapter> AcceptAsync(NetSocket listener);

    /// <summary>The socket error an exception of this surface carries.</summary>
    SocketError ErrorOf(Exception exception) => exception switch
    {
        SocketException socket => socket.SocketErrorCode,
        IOException { InnerException: SocketException inner } => inner.SocketErrorCode,
        _ => throw new Xunit.Sdk.XunitException($"{Surface}: not a socket error: {exception}"),
    };
}

/// <summary>One connection on a surface.</summary>
public interface IConnectionAdapter : IAsyncDisposable
{
    ValueTask SendAllAsync(ReadOnlyMemory<byte> data);

    /// <summary>At least one byte, or 0 at end of stream.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer);

    ValueTask ShutdownSendAsync();
}

/// <summary>Blocking BSD calls (they run the simulation forward while they wait).</summary>
public sealed class BsdAdapter : ISocketAdapter
{
    public string Surface => "bsd";

    public Type ReceiveErrorType => typeof(WirestackSocketException);

    public ValueTask<IConnectionAdapter> ConnectAsync(NetStack stack, IPEndPoint remote)
    {
        var socket = new NetSocket(stack, SocketType.Stream);
        try
        {
            socket.Connect(remote);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new(new Connection(socket));
    }

    public ValueTask<IConnectionAdapter> AcceptAsync(NetSocket listener) => new(new Connection(listener.Accept()));

    private sealed class Connection(NetSocket socket) : IConnectionAdapter
    {
        public ValueTask SendAllAsync(ReadOnlyMemory<byte> data)
        {
            Assert.Equal(data.Length, socket.Send(data.Span));
            return default;
        }

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer) => new(socket.Receive(buffer.Span));

        public ValueTask ShutdownSendAsync()
        {
            socket.Shutdown(SocketShutdown.Send);
            return default;
        }

        public ValueTask DisposeAsync()
        {
            socket.Dispose();
            return default;
        }
    }
}

/// <summary>The ValueTask completion API of NetSocket.</summary>
public sealed class AsyncAdapter : ISocketAdapter
{
    public string Surface => "async";

    public Type ReceiveErrorType => typeof(WirestackSocketException);

    public async ValueTask<IConnectionAdapter> ConnectAsync(NetStack stack, IPEndPoint remote) => new Connection(await ConnectSocketAsync(stack, remote));

    public async ValueTask<IConnectionAdapter> AcceptAsync(NetSocket listener) => new Connection(await listener.AcceptAsync());

    internal static async ValueTask<NetSocket> ConnectSocketAsync(NetStack stack, IPEndPoint remote)
    {
        var socket = new NetSocket(stack, SocketType.Stream);
        try
        {
            await socket.ConnectAsync(remote);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class Connection(NetSocket socket) : IConnectionAdapter
    {
        public async ValueTask SendAllAsync(ReadOnlyMemory<byte> data) => Assert.Equal(data.Length, await socket.SendAsync(data));

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer) => socket.ReceiveAsync(buffer);

        public ValueTask ShutdownSendAsync()
        {
            socket.Shutdown(SocketShutdown.Send);
            return default;
        }

        public ValueTask DisposeAsync()
        {
            socket.Dispose();
            return default;
        }
    }
}

/// <summary>NetStream's async Stream methods.</summary>
public sealed class StreamAdapter : ISocketAdapter
{
    public string Surface => "stream";

    public Type ReceiveErrorType => typeof(IOException);

    public async ValueTask<IConnectionAdapter> ConnectAsync(NetStack stack, IPEndPoint remote) =>
        new Connection(new NetStream(await AsyncAdapter.ConnectSocketAsync(stack, remote), ownsSocket: true));

    public async ValueTask<IConnectionAdapter> AcceptAsync(NetSocket listener) => new Connection(new NetStream(await listener.AcceptAsync(), ownsSocket: true));

    private sealed class Connection(NetStream stream) : IConnectionAdapter
    {
        public ValueTask SendAllAsync(ReadOnlyMemory<byte> data) => stream.WriteAsync(data);

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer) => stream.ReadAsync(buffer);

        public ValueTask ShutdownSendAsync()
        {
            stream.Socket.Shutdown(SocketShutdown.Send);
            return default;
        }

        public ValueTask DisposeAsync() => stream.DisposeAsync();
    }
}

/// <summary>SocketDuplexPipe: the application side of its two pipes.</summary>
public sealed class PipeAdapter : ISocketAdapter
{
    public string Surface => "pipe";

    public Type ReceiveErrorType => typeof(WirestackSocketException);

    public async ValueTask<IConnectionAdapter> ConnectAsync(NetStack stack, IPEndPoint remote) =>
        new Connection(new SocketDuplexPipe(await AsyncAdapter.ConnectSocketAsync(stack, remote), Options));

    public async ValueTask<IConnectionAdapter> AcceptAsync(NetSocket listener) => new Connection(new SocketDuplexPipe(await listener.AcceptAsync(), Options));

    // Small thresholds so that the tests exercise backpressure.
    private static SocketDuplexPipeOptions Options => new() { PauseWriterThreshold = 16 * 1024, ResumeWriterThreshold = 8 * 1024 };

    private sealed class Connection(SocketDuplexPipe pipe) : IConnectionAdapter
    {
        public async ValueTask SendAllAsync(ReadOnlyMemory<byte> data)
        {
            FlushResult result = await pipe.Output.WriteAsync(data);
            Assert.False(result.IsCanceled);
        }

        public async ValueTask<int> ReceiveAsync(Memory<byte> buffer)
        {
            while (true)
            {
                ReadResult result = await pipe.Input.ReadAsync();
                ReadOnlySequence<byte> available = result.Buffer;
                if (!available.IsEmpty)
                {
                    int n = (int)Math.Min(buffer.Length, available.Length);
                    available.Slice(0, n).CopyTo(buffer.Span);
                    pipe.Input.AdvanceTo(available.GetPosition(n));
                    return n;
                }

                pipe.Input.AdvanceTo(available.End);
                if (result.IsCompleted)
                {
                    return 0;
                }
            }
        }

        public async ValueTask ShutdownSendAsync() => await pipe.Output.CompleteAsync();

        public ValueTask DisposeAsync() => pipe.DisposeAsync();
    }
}
