namespace Wirestack.Cli;

/// <summary>A command could not do its work for a reason the user can act on (a capture file that cannot be
/// written); <see cref="Program.Run"/> prints the message on one line and exits with <see cref="ExitCodes.Failure"/>.</summary>
public sealed class CommandFailedException(string message, Exception? inner = null) : Exception(message, inner);
