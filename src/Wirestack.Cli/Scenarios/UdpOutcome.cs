namespace Wirestack.Cli.Scenarios;

/// <summary>The UDP part's outcome.</summary>
internal sealed record UdpOutcome(int Port, int BytesSent, int BytesEchoed, bool Match, TimeSpan RoundTrip);
