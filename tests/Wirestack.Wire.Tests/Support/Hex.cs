namespace Wirestack.Wire.Tests;

/// <summary>Byte vectors written as hex dumps ("45 00 00 73 …"), the way captures and RFCs print them.</summary>
internal static class Hex
{
    public static byte[] Parse(string dump) => Convert.FromHexString(dump.Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal));

    public static string Format(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
