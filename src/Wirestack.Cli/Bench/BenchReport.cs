using System.Globalization;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;

namespace Wirestack.Cli.Bench;

/// <summary>One line of the comparison: Wirestack's figure, one baseline's figure, their ratio (Wirestack ÷
/// baseline, null when either is missing) and the conditions. <see cref="HigherIsBetter"/> says which way the
/// ratio should go.</summary>
internal sealed record BenchRow(string Name, string Unit, double? Wirestack, string Baseline, double? BaselineValue, string Conditions,
    bool HigherIsBetter)
{
    public double? Ratio => Wirestack is { } w && BaselineValue is { } b && b != 0 ? w / b : null;
}

/// <summary>All rows of one run, the machine and the notes; printed as a table or as one JSON object.</summary>
internal sealed class BenchReport
{
    public List<BenchRow> Rows { get; } = [];

    /// <summary>Why something was not measured, or how it was (shown after the table, and as "notes" in JSON).</summary>
    public List<string> Notes { get; } = [];

    public required MachineInfo Machine { get; init; }

    public required string Mode { get; init; }

    public void Add(string name, string unit, double? wirestack, string baseline, double? baselineValue, string conditions, bool higherIsBetter = true) =>
        Rows.Add(new BenchRow(name, unit, wirestack, baseline, baselineValue, conditions, higherIsBetter));

    public JsonObject ToJson()
    {
        var results = new JsonArray();
        foreach (BenchRow row in Rows)
        {
            results.Add(new JsonObject
            {
                ["name"] = row.Name,
                ["unit"] = row.Unit,
                ["wirestack"] = Round(row.Wirestack),
                ["baseline"] = row.Baseline,
                ["baseline_value"] = Round(row.BaselineValue),
                ["ratio"] = Round(row.Ratio),
                ["higher_is_better"] = row.HigherIsBetter,
                ["conditions"] = row.Conditions,
            });
        }

        var notes = new JsonArray();
        foreach (string note in Notes)
        {
            notes.Add(note);
        }

        return new JsonObject { ["results"] = results, ["machine"] = Machine.ToJson(), ["mode"] = Mode, ["notes"] = notes };
    }

    public void WriteJson(TextWriter output) => JsonOutput.Write(output, ToJson());

    /// <summary>The human table: one line per row, the conditions of each measurement under its first line.</summary>
    public void WriteTable(TextWriter output)
    {
        output.WriteLine($"wirestack bench ({Mode}) on {Machine}");
        output.WriteLine();
        output.WriteLine($"{"measurement",-40} {"unit",-8} {"Wirestack",10}  {"baseline",-62} {"value",10} {"ratio",8}");
        string? lastName = null;
        string? lastConditions = null;
        foreach (BenchRow row in Rows)
        {
            string name = row.Name == lastName ? "" : row.Name;
            string better = row.HigherIsBetter ? "↑" : "↓";
            output.WriteLine($"{name,-40} {row.Unit,-8} {Format(row.Wirestack),10}  {Clip(row.Baseline, 62),-62} {Format(row.BaselineValue),10} {FormatRatio(row.Ratio),7}{better}");
            if (row.Conditions != lastConditions)
            {
                output.WriteLine($"    {row.Conditions}");
            }

            lastName = row.Name;
            lastConditions = row.Conditions;
        }

        output.WriteLine();
        output.WriteLine("ratio = Wirestack ÷ baseline; ↑ higher is better, ↓ lower is better.");
        foreach (string note in Notes)
        {
            output.WriteLine("note: " + note);
        }
    }

    private static string Clip(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";

    private static double? Round(double? value) => value is { } v ? Math.Round(v, v >= 100 ? 1 : 4) : null;

    private static string Format(double? value) => value switch
    {
        null => "—",
        >= 10_000 => value.Value.ToString("N0", CultureInfo.InvariantCulture),
        >= 100 => value.Value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.Value.ToString("0.00", CultureInfo.InvariantCulture),
    };

    private static string FormatRatio(double? ratio) => ratio switch
    {
        null => "—",
        < 0.1 => ratio.Value.ToString("0.000", CultureInfo.InvariantCulture) + "×",
        _ => ratio.Value.ToString("0.00", CultureInfo.InvariantCulture) + "×",
    };
}
