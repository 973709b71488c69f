using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>
/// One entry of the routing table: datagrams for <see cref="Destination"/> leave through interface
/// <see cref="InterfaceIndex"/>, to <see cref="Gateway"/> when there is one, else straight to the destination (a
/// directly connected network). RFC 1122 §3.3.1.1: a host routes by "local/remote decision" on the address mask;
/// RFC 4632 §5.1: the most specific (longest) matching prefix wins. A lower <see cref="Metric"/> wins among equals.
/// </summary>
public sealed record Route(IPv4Cidr Destination, IPv4Address? Gateway, int InterfaceIndex, int Metric = 0)
{
    /// <summary>Renders the route as <c>ip route</c> does: <c>10.0.0.0/8 via 10.0.0.1 dev 1 metric 5</c>.</summary>
    public override string ToString() =>
        $"{Destination}{(Gateway is { } gateway ? $" via {gateway}" : "")} dev {InterfaceIndex}{(Metric != 0 ? $" metric {Metric}" : "")}";
}
