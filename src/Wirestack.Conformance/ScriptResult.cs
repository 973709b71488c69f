namespace Wirestack.Conformance;

/// <summary>How a script ended.</summary>
public enum ScriptOutcome
{
    Pass,
    Fail,
    Skip,
}

/// <summary>The result of running one packetdrill script: for a failure, the first difference (expected line,
/// actual packet or return value, time); for a skip, the unsupported feature.</summary>
public sealed record ScriptResult(string Path, ScriptOutcome Outcome, string Detail)
{
    public static ScriptResult Pass(string path, string detail = "") => new(path, ScriptOutcome.Pass, detail);

    public static ScriptResult Fail(string path, string detail) => new(path, ScriptOutcome.Fail, detail);

    public static ScriptResult Skip(string path, string feature) => new(path, ScriptOutcome.Skip, feature);

    public override string ToString() => Outcome switch
    {
        ScriptOutcome.Pass => $"PASS {Path}",
        ScriptOutcome.Fail => $"FAIL {Path}: {Detail}",
        _ => $"SKIP {Path}: {Detail}",
    };
}
