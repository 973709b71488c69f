using System.CommandLine;
using System.CommandLine.Parsing;

namespace Wirestack.Cli;

/// <summary>
/// The options several commands share, built over <see cref="Units"/>. A bad value becomes a parse error
/// ("--loss: '150%' is more than 100%"), which <see cref="Program.Run"/> prints on one line and turns into exit code 2.
/// </summary>
internal static class CliOptions
{
    private delegate bool TryParse<T>(string text, out T value, out string? error);

    public static Option<int> Seed() => Integer("--seed", "Seed of every random choice (ports, ISNs, impairments, payload): the same seed replays the same run.", 1, int.MinValue);

    public static Option<string?> Pcap(string what) => new("--pcap")
    {
        Description = $"Write every packet on the simulated wires to FILE (libpcap, nanosecond timestamps){what}.",
        HelpName = "FILE",
    };

    public static Option<bool> Json() => new("--json")
    {
        Description = "Print one JSON object on stdout instead of the human summary.",
    };

    // The options with units have no DefaultValueFactory, so that help does not print "[default: 00:00:00.0010000]":
    // their descriptions give the default in units, and the commands read them with ValueOr.

    public static Option<double> Probability(string name, string description) =>
        WithUnits<double>(name, description, "P%", Units.TryParseProbability);

    public static Option<TimeSpan> Duration(string name, string description) =>
        WithUnits<TimeSpan>(name, description, "D", Units.TryParseDuration);

    public static Option<long> Rate(string name, string description) =>
        WithUnits<long>(name, description, "R", Units.TryParseRate);

    /// <summary>A size in bytes (<see cref="Units.TryParseSize"/>) between <paramref name="minimum"/> and
    /// <paramref name="maximum"/>.</summary>
    public static Option<long> Size(string name, string description, long minimum = 0, long maximum = long.MaxValue) =>
        WithUnits(name, description, "N", (string text, out long value, out string? error) =>
        {
            if (!Units.TryParseSize(text, out value, out error))
            {
                return false;
            }

            if (value < minimum || value > maximum)
            {
                error = maximum == long.MaxValue
                    ? $"'{text}' is too small: at least {Units.FormatBytes(minimum)}"
                    : $"'{text}' is out of range: {Units.FormatBytes(minimum)} to {Units.FormatBytes(maximum)}";
                return false;
            }

            return true;
        });

    public static Option<int> Mtu()
    {
        Option<int> option = WithUnits<int>("--mtu", "Link MTU in bytes (68 to 65535).", "M", Units.TryParseMtu);
        option.DefaultValueFactory = _ => 1500;
        return option;
    }

    /// <summary>A whole-number option with a lower bound.</summary>
    public static Option<int> Integer(string name, string description, int defaultValue, int minimum)
    {
        Option<int> option = WithUnits(name, description, "N", (string text, out int value, out string? error) =>
        {
            value = 0;
            if (!Units.TryParseInteger(text, out long parsed, out error))
            {
                return false;
            }

            if (parsed < minimum || parsed > int.MaxValue)
            {
                error = parsed < minimum ? $"'{text}' is less than {minimum}" : $"'{text}' is too large";
                return false;
            }

            value = (int)parsed;
            return true;
        });
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>The option's value, or <paramref name="fallback"/> when it was not given.</summary>
    public static T ValueOr<T>(this ParseResult parsed, Option<T> option, T fallback) =>
        parsed.GetResult(option) is null ? fallback : parsed.GetValue(option)!;

    private static Option<T> WithUnits<T>(string name, string description, string helpName, TryParse<T> parse) =>
        new(name)
        {
            Description = description,
            HelpName = helpName,
            CustomParser = result => Parse(name, result, parse),
        };

    private static T? Parse<T>(string name, ArgumentResult result, TryParse<T> parse)
    {
        if (result.Tokens.Count != 1)
        {
            result.AddError($"{name} takes one value");
            return default;
        }

        if (!parse(result.Tokens[0].Value, out T value, out string? error))
        {
            result.AddError($"{name}: {error}");
            return default;
        }

        return value;
    }
}
