using System.Net.Sockets;
using System.Security.Cryptography;

namespace Wirestack.Cli.Scenarios;

/// <summary>What a <see cref="BulkTransfer"/> did.</summary>
internal sealed class TransferResult
{
    public long BytesRequested { get; init; }

    public long BytesSent { get; set; }

    public long BytesReceived { get; set; }

    /// <summary>SHA-256 of the bytes the sender's socket accepted (of nothing, until it accepts some).</summary>
    public byte[] ShaSent { get; set; } = SHA256.HashData([]);

    /// <summary>SHA-256 of the bytes the receiver read.</summary>
    public byte[] ShaReceived { get; set; } = SHA256.HashData([]);

    /// <summary>Virtual time from the connect call to the receiver reading the FIN (or to the failure).</summary>
    public TimeSpan Simulated { get; set; }

    public TimeSpan ConnectTime { get; set; }

    /// <summary>The sender's SO_SNDBUF during the transfer.</summary>
    public int SendBufferBytes { get; set; }

    /// <summary>Segments the sender sent again (its Tcp RetransSegs during the transfer).</summary>
    public long Retransmits { get; set; }

    /// <summary>Success, or the socket error that ended the transfer.</summary>
    public SocketError Error { get; set; }

    /// <summary>The stack's explanation of <see cref="Error"/>, when it has one.</summary>
    public string? Cause { get; set; }

    public bool Completed => Error == SocketError.Success && BytesReceived == BytesRequested;

    public bool HashesMatch => Completed && ShaSent.AsSpan().SequenceEqual(ShaReceived);
}
