// Values with their unit in the text, as smoltcp's example flags and tc/netem take them: --loss 1% (or 0.01),
// --delay 20ms, --rate 10Mbit, --bytes 20MB / 1MiB, --mtu 1500. Each parser returns a one-line reason when the text
// is not a value it accepts; the formatters write values back the same way for the human output.
using System.Globalization;
using System.Text.RegularExpressions;

namespace Wirestack.Cli;

/// <summary>Parses and formats the CLI's values with units (probabilities, durations, rates, sizes, MTUs).</summary>
public static partial class Units
{
    private static readonly CultureInfo s_invariant = CultureInfo.InvariantCulture;

    /// <summary>A probability: a percentage (<c>1%</c>, <c>0.5%</c>) or a fraction between 0 and 1 (<c>0.01</c>).</summary>
    public static bool TryParseProbability(string text, out double value, out string? error)
    {
        value = 0;
        if (!TrySplit(text, out double number, out string unit, out error))
        {
            return false;
        }

        if (number < 0)
        {
            return Fail($"'{text}' is negative; a probability is between 0% and 100%", out error);
        }

        if (unit == "%")
        {
            if (number > 100)
            {
                return Fail($"'{text}' is more than 100%", out error);
            }

            value = number / 100;
            return true;
        }

        if (unit.Length > 0)
        {
            return Fail($"'{text}' has an unknown unit '{unit}'; give a percentage (1%) or a fraction (0.01)", out error);
        }

        if (number > 1)
        {
            return Fail($"'{text}' is more than 1; a bare number is a fraction between 0 and 1 (did you mean {text}%?)", out error);
        }

        value = number;
        return true;
    }

    /// <summary>A duration with its unit: <c>500us</c>, <c>20ms</c>, <c>1.5s</c>, <c>2min</c>; a bare <c>0</c> is zero.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value, out string? error)
    {
        value = TimeSpan.Zero;
        if (!TrySplit(text, out double number, out string unit, out error))
        {
            return false;
        }

        if (number < 0)
        {
            return Fail($"'{text}' is negative; a duration cannot be", out error);
        }

        double microsecondsPerUnit;
        switch (unit.ToLowerInvariant())
        {
            case "us" or "µs": microsecondsPerUnit = 1; break;
            case "ms": microsecondsPerUnit = 1_000; break;
            case "s" or "sec": microsecondsPerUnit = 1_000_000; break;
            case "min": microsecondsPerUnit = 60_000_000; break;
            case "" when number == 0: microsecondsPerUnit = 0; break;
            case "": return Fail($"'{text}' needs a unit: us, ms, s or min (for example 20ms)", out error);
            default: return Fail($"'{text}' has an unknown unit '{unit}'; use us, ms, s or min (for example 20ms)", out error);
        }

        double microseconds = Math.Round(number * microsecondsPerUnit);
        if (microseconds > TimeSpan.FromDays(1).TotalMicroseconds)
        {
            return Fail($"'{text}' is longer than a day", out error);
        }

        value = TimeSpan.FromMicroseconds(microseconds);
        return true;
    }

    /// <summary>A line rate in bits per second: <c>64kbit</c>, <c>10Mbit</c>, <c>1Gbit</c> (SI prefixes, as tc's
    /// <c>mbit</c>); <c>0</c> or <c>unlimited</c> means no limit.</summary>
    public static bool TryParseRate(string text, out long bitsPerSecond, out string? error)
    {
        bitsPerSecond = 0;
        if (text.Trim().Equals("unlimited", StringComparison.OrdinalIgnoreCase))
        {
            error = null;
            return true;
        }

        if (!TrySplit(text, out double number, out string unit, out error))
        {
            return false;
        }

        if (number < 0)
        {
            return Fail($"'{text}' is negative; a rate is 0 (unlimited) or more", out error);
        }

        string bare = unit.EndsWith("/s", StringComparison.Ordinal) ? unit[..^2] : unit;
        double multiplier;
        switch (bare.ToLowerInvariant())
        {
            case "bit": multiplier = 1; break;
            case "kbit": multiplier = 1e3; break;
            case "mbit": multiplier = 1e6; break;
            case "gbit": multiplier = 1e9; break;
            case "tbit": multiplier = 1e12; break;
            case "" when number == 0: multiplier = 0; break;
            case "": return Fail($"'{text}' needs a unit: bit, kbit, Mbit or Gbit (for example 10Mbit)", out error);
            default:
                return Fail($"'{text}' has an unknown unit '{unit}'; use bits per second: kbit, Mbit or Gbit (for example 10Mbit)", out error);
        }

        double bits = Math.Round(number * multiplier);
        if (number > 0 && bits < 1)
        {
            return Fail($"'{text}' is less than 1 bit per second", out error);
        }

        if (bits > 1e15)
        {
            return Fail($"'{text}' is more than 1 Pbit/s", out error);
        }

        bitsPerSecond = (long)bits;
        return true;
    }

    /// <summary>A size in bytes: <c>1000</c>, <c>20kB</c>, <c>20MB</c>, <c>1GB</c> (powers of 1000) or <c>64KiB</c>,
    /// <c>1MiB</c>, <c>1GiB</c> (powers of 1024).</summary>
    public static bool TryParseSize(string text, out long bytes, out string? error)
    {
        bytes = 0;
        if (!TrySplit(text, out double number, out string unit, out error))
        {
            return false;
        }

        if (number < 0)
        {
            return Fail($"'{text}' is negative; a size is 0 bytes or more", out error);
        }

        double multiplier;
        switch (unit)
        {
            case "" or "B": multiplier = 1; break;
            case "kB" or "KB": multiplier = 1e3; break;
            case "MB": multiplier = 1e6; break;
            case "GB": multiplier = 1e9; break;
            case "KiB": multiplier = 1024; break;
            case "MiB": multiplier = 1024 * 1024; break;
            case "GiB": multiplier = 1024 * 1024 * 1024; break;
            default: return Fail($"'{text}' has an unknown unit '{unit}'; use B, kB, MB, GB, KiB, MiB or GiB", out error);
        }

        double value = number * multiplier;
        if (value != Math.Floor(value))
        {
            return Fail($"'{text}' is not a whole number of bytes", out error);
        }

        if (value > 1e15)
        {
            return Fail($"'{text}' is more than a petabyte", out error);
        }

        bytes = (long)value;
        return true;
    }

    /// <summary>An IPv4 link MTU in bytes, from 68 (RFC 791's minimum) to 65535.</summary>
    public static bool TryParseMtu(string text, out int mtu, out string? error)
    {
        mtu = 0;
        if (!TryParseInteger(text, out long value, out error))
        {
            return false;
        }

        if (value is < 68 or > 65535)
        {
            return Fail($"'{text}' is out of range: an IPv4 MTU is between 68 and 65535 bytes", out error);
        }

        mtu = (int)value;
        return true;
    }

    /// <summary>A whole number, with no unit.</summary>
    public static bool TryParseInteger(string text, out long value, out string? error)
    {
        if (long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, s_invariant, out value))
        {
            error = null;
            return true;
        }

        return Fail($"'{text}' is not a whole number", out error);
    }

    public static string FormatProbability(double probability) =>
        (probability * 100).ToString("0.###", s_invariant) + "%";

    public static string FormatDuration(TimeSpan duration) => duration.TotalMicroseconds switch
    {
        0 => "0",
        < 1000 => duration.TotalMicroseconds.ToString("0", s_invariant) + " us",
        < 1_000_000 => duration.TotalMilliseconds.ToString("0.###", s_invariant) + " ms",
        _ => duration.TotalSeconds.ToString("0.###", s_invariant) + " s",
    };

    public static string FormatRate(double bitsPerSecond) => bitsPerSecond switch
    {
        <= 0 => "unlimited",
        < 1e3 => bitsPerSecond.ToString("0.##", s_invariant) + " bit/s",
        < 1e6 => (bitsPerSecond / 1e3).ToString("0.##", s_invariant) + " kbit/s",
        < 1e9 => (bitsPerSecond / 1e6).ToString("0.##", s_invariant) + " Mbit/s",
        _ => (bitsPerSecond / 1e9).ToString("0.##", s_invariant) + " Gbit/s",
    };

    /// <summary>Bytes with thousands separators, and the binary size beside it when it helps (1,048,576 bytes (1 MiB)).</summary>
    public static string FormatBytes(long bytes)
    {
        string exact = bytes.ToString("N0", s_invariant) + (bytes == 1 ? " byte" : " bytes");
        string? friendly = bytes switch
        {
            >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.##", s_invariant) + " GiB",
            >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.##", s_invariant) + " MiB",
            >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.##", s_invariant) + " KiB",
            _ => null,
        };
        return friendly is null ? exact : $"{exact} ({friendly})";
    }

    /// <summary>A size as short as it is exact: 16 KiB, 1 MiB, 1500 bytes.</summary>
    public static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => (bytes >> 30).ToString(s_invariant) + " GiB",
        >= 1L << 20 when bytes % (1L << 20) == 0 => (bytes >> 20).ToString(s_invariant) + " MiB",
        >= 1L << 10 when bytes % (1L << 10) == 0 => (bytes >> 10).ToString(s_invariant) + " KiB",
        1 => "1 byte",
        _ => bytes.ToString("N0", s_invariant) + " bytes",
    };

    /// <summary>Splits "12.5ms" into 12.5 and "ms" (spaces between are allowed).</summary>
    private static bool TrySplit(string text, out double number, out string unit, out string? error)
    {
        number = 0;
        unit = "";
        Match match = ValueWithUnit().Match(text);
        if (!match.Success || !double.TryParse(match.Groups[1].Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint,
                s_invariant, out number))
        {
            return Fail($"'{text}' is not a number with an optional unit", out error);
        }

        unit = match.Groups[2].Value;
        error = null;
        return true;
    }

    private static bool Fail(string message, out string? error)
    {
        error = message;
        return false;
    }

    [GeneratedRegex(@"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(\S*)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex ValueWithUnit();
}
