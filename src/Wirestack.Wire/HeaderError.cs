namespace Wirestack.Wire;

/// <summary>Why bytes from the wire were not accepted as a header. Wire code returns these and never throws on
/// untrusted input; the stack turns them into counted drops.</summary>
public enum HeaderError
{
    None,
    /// <summary>Fewer bytes than the fixed header, or than a length field says.</summary>
    Truncated,
    /// <summary>A version field other than the one this parser reads.</summary>
    BadVersion,
    /// <summary>A length field that is impossible (IHL &lt; 5, total length &lt; header length, data offset &lt; 5…).</summary>
    BadLength,
    /// <summary>The Internet checksum does not verify.</summary>
    BadChecksum,
    /// <summary>An option whose length is 0, 1, runs past the header, or is wrong for its kind.</summary>
    BadOption,
    /// <summary>Well-formed but not something this stack handles.</summary>
    Unsupported,
}
