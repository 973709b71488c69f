namespace Wirestack.Cli;

/// <summary>The process exit codes.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The command ran and what it did failed (or could not be done).</summary>
    public const int Failure = 1;

    /// <summary>The arguments were wrong; nothing was run.</summary>
    public const int Usage = 2;
}
