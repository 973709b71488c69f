using System.Buffers;
using System.IO.Pipelines;

namespace Wirestack.Sockets;

/// <summary>How a <see cref="SocketDuplexPipe"/> buffers and schedules.</summary>
public sealed class SocketDuplexPipeOptions
{
    /// <summary>Where pipe memory comes from. It must not fail (STYLE.md §3.3), so it is not the packet pool: the
    /// pipes are bounded by <see cref="PauseWriterThreshold"/> instead.</summary>
    public MemoryPool<byte> Pool { get; set; } = MemoryPool<byte>.Shared;

    /// <summary>Unread bytes at which the writer of a pipe is paused (backpressure): the receive pump stops taking
    /// data from the socket (so the TCP window closes), and the application's FlushAsync waits for the send
    /// pump. Defaults to 64 KiB.</summary>
    public long PauseWriterThreshold { get; set; } = 64 * 1024;

    /// <summary>Unread bytes at which a paused writer resumes. Defaults to 32 KiB.</summary>
    public long ResumeWriterThreshold { get; set; } = 32 * 1024;

    /// <summary>The smallest buffer the receive pump asks the pipe for. Defaults to 4 KiB.</summary>
    public int MinimumSegmentSize { get; set; } = 4096;

    /// <summary>Where the application's pipe continuations run (its ReadAsync on <see cref="SocketDuplexPipe.Input"/>
    /// and FlushAsync on <see cref="SocketDuplexPipe.Output"/>). Null: the stack's
    /// <see cref="Stack.NetStack.CompletionContext"/> when it has one (simulation), else the thread pool.</summary>
    public PipeScheduler? ApplicationScheduler { get; set; }

    /// <summary>Where the pumps' pipe continuations run. Null: inline (the pumps only move bytes and never block).</summary>
    public PipeScheduler? TransportScheduler { get; set; }

    /// <summary>Whether completing <see cref="SocketDuplexPipe.Output"/> shuts down the sending side (FIN).
    /// Defaults to true.</summary>
    public bool ShutdownSendOnOutputComplete { get; set; } = true;

    /// <summary>Turns a socket error into the exception the pipes complete with (a server adapter maps resets to
    /// its own ConnectionResetException, say). Null: the <see cref="WirestackSocketException"/> itself.</summary>
    public Func<Exception, Exception>? TranslateError { get; set; }

    public SocketDuplexPipeOptions Clone() => (SocketDuplexPipeOptions)MemberwiseClone();
}
