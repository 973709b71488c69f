using System.Net;
using Wirestack.Links;
using Wirestack.Simulation;
using Wirestack.Stack;

namespace Wirestack.Tests.Support;

/// <summary>Small builders for simulated networks used across tests.</summary>
internal static class Net
{
    public static readonly IPEndPoint ServerHttp = new(IPAddress.Parse("10.0.0.2"), 80);

    public static (Simulator Sim, NetStack Client, NetStack Server) TwoHosts(int seed, LinkImpairments? impairments = null,
        NetStackOptions? clientOptions = null, NetStackOptions? serverOptions = null)
    {
        var sim = new Simulator(seed);
        NetStack client = sim.AddHost("client", clientOptions);
        NetStack server = sim.AddHost("server", serverOptions);
        sim.Connect(client, "10.0.0.1/24", server, "10.0.0.2/24", impairments ?? new LinkImpairments { Delay = TimeSpan.FromMilliseconds(1) });
        return (sim, client, server);
    }
}
