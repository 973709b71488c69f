using Wirestack.Sockets;
using Wirestack.Stack;

namespace Wirestack.AspNetCore;

/// <summary>Configures Kestrel's Wirestack transport.</summary>
public sealed class WirestackTransportOptions
{
    /// <summary>The stack Kestrel listens on (required).</summary>
    public NetStack? Stack { get; set; }

    /// <summary>listen() backlog of each bound endpoint. Defaults to 512 (Kestrel's socket transport default).</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>How each connection's duplex pipe buffers; null for the defaults (64 KiB pause threshold).</summary>
    public SocketDuplexPipeOptions? PipeOptions { get; set; }
}
