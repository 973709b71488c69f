using System.Diagnostics;
using Xunit.Abstractions;

namespace Wirestack.Conformance.Tests;

/// <summary>
/// Every script of the packetdrill corpus (read in place from shared/conformance/packetdrill) must pass, skip naming
/// an unsupported feature, or fail AND be listed with its reason in ExpectedFailures.txt. A listed script that no
/// longer fails fails this test too, so that the list stays honest.
/// </summary>
public sealed class CorpusTests(ITestOutputHelper output)
{
    private static readonly string s_expectedFailuresFile = Path.Combine(AppContext.BaseDirectory, "ExpectedFailures.txt");

    [CorpusFact]
    public void Corpus_EveryScriptPassesSkipsNamingAFeatureOrIsAListedExpectedFailure()
    {
        string corpus = Corpus.Directory!;
        ExpectedFailures expected = ExpectedFailures.Load(s_expectedFailuresFile);
        List<string> scripts = PacketdrillRunner.FindScripts([corpus]);
        var options = new ConformanceOptions();
        var problems = new List<string>();
        var stopwatch = Stopwatch.StartNew();
        var results = new List<ScriptResult>();
        foreach (string script in scripts)
        {
            ScriptResult result = PacketdrillRunner.Run(script, options);
            results.Add(result);
            string relative = Path.GetRelativePath(corpus, script).Replace('\\', '/');
            string? reason = expected.ReasonFor(script);
            output.WriteLine($"{result.Outcome.ToString().ToUpperInvariant(),-4} {relative}{(result.Detail.Length > 0 ? ": " + result.Detail : "")}");
            switch (result.Outcome)
            {
                case ScriptOutcome.Fail when reason is null:
                    problems.Add($"unexpected failure: {relative}: {result.Detail}");
                    break;
                case ScriptOutcome.Pass or ScriptOutcome.Skip when reason is not null:
                    problems.Add($"{relative} is listed in ExpectedFailures.txt ({reason}) but it {result.Outcome.ToString().ToLowerInvariant()}es now: " +
                                 $"remove it from the list{(result.Outcome == ScriptOutcome.Skip ? $" (skip: {result.Detail})" : "")}");
                    break;
                case ScriptOutcome.Skip when string.IsNullOrWhiteSpace(result.Detail):
                    problems.Add($"{relative} skipped without naming the feature");
                    break;
            }
        }

        foreach (string entry in expected.Entries.Keys.Where(e => !scripts.Any(s => expected.Find(s) == e)))
        {
            problems.Add($"ExpectedFailures.txt lists {entry}, which is not in the corpus");
        }

        foreach (string entry in expected.Entries.Where(e => string.IsNullOrWhiteSpace(e.Value)).Select(e => e.Key))
        {
            problems.Add($"ExpectedFailures.txt lists {entry} without a reason");
        }

        stopwatch.Stop();
        output.WriteLine($"{results.Count(r => r.Outcome == ScriptOutcome.Pass)} passed, {results.Count(r => r.Outcome == ScriptOutcome.Fail)} failed " +
                         $"({expected.Entries.Count} expected), {results.Count(r => r.Outcome == ScriptOutcome.Skip)} skipped, " +
                         $"{scripts.Count} scripts in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(scripts.Count > 0, $"no scripts under {corpus}");
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"the corpus took {stopwatch.Elapsed.TotalSeconds:0.0} s (budget 30 s)");
    }
}
