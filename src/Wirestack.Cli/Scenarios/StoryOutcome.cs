using System.Net.Sockets;

namespace Wirestack.Cli.Scenarios;

/// <summary>One failing-connect story: what the socket said, and why.</summary>
internal sealed record StoryOutcome(string Name, SocketError Error, string? Explanation, TimeSpan Simulated);
