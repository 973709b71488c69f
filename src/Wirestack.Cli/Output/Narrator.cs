using System.Globalization;
using Wirestack.Time;

namespace Wirestack.Cli.Output;

/// <summary>Tells a simulation as it happens: each step on its own line behind its virtual timestamp, notes
/// indented under it, headings between parts.</summary>
internal sealed class Narrator
{
    /// <summary>The width of "[ 123.456 s] ", so that notes line up with the text of steps.</summary>
    private const string NoteIndent = "              ";

    private readonly TextWriter _output;

    public Narrator(TextWriter output)
    {
        _output = output;
    }

    public void Line(string text = "") => _output.WriteLine(text);

    public void Heading(string text)
    {
        _output.WriteLine();
        _output.WriteLine(text);
    }

    /// <summary>A step, stamped with the virtual time it happened at.</summary>
    public void At(Instant time, string text) =>
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{time.TotalSeconds,8:0.000} s] {text}"));

    /// <summary>A remark on the steps above it, aligned with their text.</summary>
    public void Note(string text) => _output.WriteLine(NoteIndent + text);
}
