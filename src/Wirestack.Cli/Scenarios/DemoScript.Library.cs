using System.Globalization;
using Wirestack.Simulation.Scenarios;

namespace Wirestack.Cli.Scenarios;

internal sealed partial class DemoScript
{
    /// <summary>The scenarios the demo ends with: a full accept queue and a larval route.</summary>
    public static readonly string[] LibraryScenarios = ["backlog-overflow", "larval"];

    public List<ScenarioResult> ScenarioResults { get; } = [];

    /// <summary>Plays a few stories of the scenario library (each on its own simulated network) and sums each up in
    /// a few lines.</summary>
    public void RunScenarios()
    {
        _say.Heading("6. Two stories from the scenario library (wirestack scenario list has them all)");
        foreach (string name in LibraryScenarios)
        {
            ScenarioResult result = ScenarioRegistry.Find(name)!.Run(new ScenarioOptions { Seed = Seed });
            ScenarioResults.Add(result);
            _say.Line();
            _say.Line($" {name}: {result.Description}");
            foreach (ScenarioError error in result.Errors.Take(1))
            {
                _say.Line(string.Create(CultureInfo.InvariantCulture, $"   at {error.T:0.###} s: {error.Errno} on {error.Socket}"));
                _say.Line($"   why: {error.Explanation}");
            }

            foreach (string line in Conclusion(name, result))
            {
                _say.Line("   " + line);
            }

            _say.Line($"   (the whole story: wirestack scenario {name} --seed {Seed})");
            Expect(result.Passed, $"scenario {name}: {string.Join("; ", result.Checks.Where(c => !c.Passed).Select(c => c.What))}");
        }
    }

    private static IEnumerable<string> Conclusion(string name, ScenarioResult r) => name switch
    {
        "backlog-overflow" =>
        [
            $"{r.Facts["phantom_clients"]:0} of {BacklogOverflowScenario.Clients} clients were never in the server's accept queue (backlog {BacklogOverflowScenario.Backlog} holds {r.Facts["accept_queue"]:0}),",
            $"yet their connect() succeeded and so did their writes; the server's ListenOverflows ({r.Counter("server", "TcpExt", "ListenOverflows")}) tells why.",
        ],
        "larval" =>
        [
            "A non-blocking connect through a route still being set up returned EINPROGRESS at once.",
            $"With LarvalDrop the early SYNs were dropped and the retransmission got through: connected at {r.Facts["a_established_s"]:0.###} s;",
            $"without it the SYN waited, and left the moment the route was ready: connected at {r.Facts["b_established_s"]:0.###} s.",
        ],
        _ => r.Summary.Take(2),
    };
}
