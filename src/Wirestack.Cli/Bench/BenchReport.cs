using System.Globalization;
using System.Text.Json.Nodes;
using Wirestack.Cli.Output;

namespace Wirestack.Cli.Bench;

/// <summary>One line of the comparison: Wirestack's figure, one baseline's figure, their ratio (Wirestack ÷
/// baseline, null when either is missing) and the conditions: those of the measurement (<see cref="Common"/>,
/// shared by every baseline of it) and those of this baseline. <see cref="HigherIsBetter"/> says which way the
/// ratio should go.</summary>
internal sealed record BenchRow(string Name, string Unit, double? Wirestack, string Baseline, double? BaselineValue, string Common,
    string BaselineConditions, bool HigherIsBetter)
{
    public double? Ratio => Wirestack is { } w && BaselineValue is { } b && b != 0 ? w / b : null;

    public string Conditions => BaselineConditions.Length == 0 ? Common : Common + ". " + BaselineConditions;
}

/// <summary>All rows of one run, the machine and the notes; printed as a table or as one JSON object.</summary>
internal sealed class BenchReport
{
    public List<BenchRow> Rows { get; } = [];

    /// <summary>Why something was not measured, or how it was (shown after the table, and as "notes" in JSON).</summary>
    public List<string> Notes { get; } = [];

    public required MachineInfo Machine { get; init; }

    public required string Mode { get; init; }

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

    /// <summary>The human report: per measurement, Wirestack's figure, each baseline's with the ratio, then the
    /// conditions (the measurement's once, each baseline's own).</summary>
    public void WriteTable(TextWriter output)
    {
        output.WriteLine($"wirestack bench ({Mode}) on {Machine}");
        foreach (IGrouping<string, BenchRow> measurement in Rows.GroupBy(r => r.Name))
        {
            BenchRow first = measurement.First();
            output.WriteLine();
            output.WriteLine($"{first.Name} ({first.Unit}, {(first.HigherIsBetter ? "higher" : "lower")} is better)");
            output.WriteLine($"  {"Wirestack",-74} {Format(first.Wirestack),10}");
            foreach (BenchRow row in measurement)
            {
                output.WriteLine($"  {Clip(row.Baseline, 74),-74} {Format(row.BaselineValue),10}  ratio {FormatRatio(row.Ratio)}");
            }

            foreach (string line in Wrap(first.Common, 112))
            {
                output.WriteLine("    " + line);
            }

            foreach (string conditions in measurement.Select(r => r.BaselineConditions).Where(c => c.Length > 0).Distinct())
            {
                foreach (string line in Wrap(conditions, 112))
                {
                    output.WriteLine("    " + line);
                }
            }
        }

        output.WriteLine();
        output.WriteLine("ratio = Wirestack ÷ baseline.");
        foreach (string note in Notes)
        {
            output.WriteLine("note: " + note);
        }
    }

    /// <summary>The rows as a Markdown table (for docs/PERFORMANCE.md), conditions left out.</summary>
    public void WriteMarkdown(TextWriter output)
    {
        output.WriteLine($"`wirestack bench` ({Mode}) on {Machine}");
        output.WriteLine();
        output.WriteLine("| measurement | unit | Wirestack | baseline | baseline value | ratio |");
        output.WriteLine("|---|---|--:|---|--:|--:|");
        string? last = null;
        foreach (BenchRow row in Rows)
        {
            string name = row.Name == last ? "" : $"{row.Name} ({(row.HigherIsBetter ? "↑" : "↓")})";
            string wirestack = row.Name == last ? "" : Format(row.Wirestack);
            output.WriteLine($"| {name} | {row.Unit} | {wirestack} | {row.Baseline.Replace("|", "/", StringComparison.Ordinal)} | {Format(row.BaselineValue)} | {FormatRatio(row.Ratio)} |");
            last = row.Name;
        }

        output.WriteLine();
        foreach (string note in Notes)
        {
            output.WriteLine($"- {note}");
        }
    }

    private static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new System.Text.StringBuilder();
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }

            line.Append(line.Length > 0 ? " " : "").Append(word);
        }

        if (line.Length > 0)
        {
            yield return line.ToString();
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
