namespace Wirestack.Wire;

/// <summary>Equality for <see cref="TcpOptions"/>. The default struct equality cannot be used: the runtime throws
/// <see cref="NotSupportedException"/> from <see cref="ValueType.Equals(object)"/> on a struct holding an inline
/// array (<see cref="SackBlocks"/>).</summary>
public partial struct TcpOptions
{
    /// <summary>Semantic equality: timestamp values count only when <see cref="HasTimestamp"/> is set, and only the
    /// first <see cref="SackCount"/> SACK blocks count.</summary>
    public readonly bool Equals(TcpOptions other)
    {
        if (Mss != other.Mss || WindowScale != other.WindowScale || SackPermitted != other.SackPermitted ||
            WindowScaleClamped != other.WindowScaleClamped || HasTimestamp != other.HasTimestamp ||
            SackCount != other.SackCount)
        {
            return false;
        }

        if (HasTimestamp && (TsVal != other.TsVal || TsEcr != other.TsEcr))
        {
            return false;
        }

        for (int b = 0; b < Math.Min(SackCount, MaxSackBlocks); b++)
        {
            if (Sacks[b] != other.Sacks[b])
            {
                return false;
            }
        }

        return true;
    }

    public override readonly bool Equals(object? obj) => obj is TcpOptions other && Equals(other);

    public override readonly int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Mss);
        hash.Add(WindowScale);
        hash.Add(SackPermitted);
        hash.Add(WindowScaleClamped);
        hash.Add(HasTimestamp);
        if (HasTimestamp)
        {
            hash.Add(TsVal);
            hash.Add(TsEcr);
        }

        hash.Add(SackCount);
        for (int b = 0; b < Math.Min(SackCount, MaxSackBlocks); b++)
        {
            hash.Add(Sacks[b]);
        }

        return hash.ToHashCode();
    }

    public static bool operator ==(TcpOptions left, TcpOptions right) => left.Equals(right);

    public static bool operator !=(TcpOptions left, TcpOptions right) => !left.Equals(right);
}
