namespace Wirestack.Conformance.Tests;

/// <summary>Where the packetdrill corpus is: <c>shared/conformance/packetdrill</c> beside the repository (CI clones
/// it there), found by looking beside the repository root and then beside each of its parents (a git worktree sits
/// deeper than the main clone); <c>WIRESTACK_CONFORMANCE</c> may name the conformance directory instead. The scripts
/// are test data read in place, never copied into the repository.</summary>
internal static class Corpus
{
    public static readonly string? Directory = Find();

    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Wirestack.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("repository root (Wirestack.slnx) not found");
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("WIRESTACK_CONFORMANCE") is { Length: > 0 } configured)
        {
            string scripts = Path.Combine(configured, "packetdrill");
            return System.IO.Directory.Exists(scripts) ? scripts : null;
        }

        for (string? dir = Path.GetDirectoryName(FindRoot()); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string candidate = Path.Combine(dir, "shared", "conformance", "packetdrill");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A fact skipped, with a one-line reason, when the corpus is not beside the repository.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CorpusFactAttribute : FactAttribute
{
    public CorpusFactAttribute()
    {
        if (Corpus.Directory is null)
        {
            Skip = "the packetdrill corpus (shared/conformance/packetdrill beside the repository) is not there";
        }
    }
}
