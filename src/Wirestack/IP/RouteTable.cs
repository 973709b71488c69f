using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using Wirestack.Wire;

namespace Wirestack.IP;

/// <summary>
/// The host's routing table. Read first: RFC 1122 §3.3.1 (a host's routing decision), RFC 4632 §5.1 (routing is
/// done on a longest-match basis), RFC 1812 §5.2.4.3 (next-hop selection: longest match, then best metric).
/// <para>
/// Entries are kept sorted in the order a lookup prefers them: longest prefix first, then lowest metric, then the
/// order they were added. <see cref="TryLookup"/> therefore returns the first entry that contains the address, which
/// costs one mask-and-compare per entry and allocates nothing. Tables on a host are short (a few connected networks
/// and a default route), so a linear scan beats a trie here.
/// </para>
/// Not thread-safe: used under the stack's lock, like all protocol state.
/// </summary>
public sealed class RouteTable
{
    // Parallel to _routes: the masked network and mask of each entry, so that a lookup touches no Route object
    // until it has found its match.
    private readonly List<Entry> _entries = new();
    private readonly List<Route> _routes = new();
    private readonly ReadOnlyCollection<Route> _view;

    public RouteTable() => _view = _routes.AsReadOnly();

    /// <summary>The routes, in lookup preference order (longest prefix, lowest metric, first added).</summary>
    public IReadOnlyList<Route> Routes => _view;

    public int Count => _routes.Count;

    /// <summary>
    /// Adds <paramref name="route"/>. A route with the same destination network, prefix length and metric is
    /// replaced in place (it keeps its position among equals); host bits of the destination are ignored when
    /// comparing, so 10.1.2.3/8 and 10.0.0.0/8 are the same destination.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The prefix length is outside 0..32 (a configuration error).</exception>
    public void Add(Route route)
    {
        ArgumentNullException.ThrowIfNull(route);
        int prefix = route.Destination.PrefixLength;
        if (prefix is < 0 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(route), $"prefix length {prefix} is not 0..32");
        }

        var entry = new Entry(route.Destination.Network.Value, route.Destination.Mask, prefix, route.Metric);
        int insertAt = _entries.Count;
        for (int i = 0; i < _entries.Count; i++)
        {
            Entry existing = _entries[i];
            if (existing.SameDestination(entry) && existing.Metric == entry.Metric)
            {
                _routes[i] = route;
                return;
            }

            if (insertAt == _entries.Count && entry.PrecedesStrictly(existing))
            {
                insertAt = i;
            }
        }

        _entries.Insert(insertAt, entry);
        _routes.Insert(insertAt, route);
    }

    /// <summary>Removes every route to <paramref name="destination"/> (same network and prefix length, any
    /// metric). Returns whether any was removed.</summary>
    public bool Remove(IPv4Cidr destination)
    {
        if (destination.PrefixLength is < 0 or > 32)
        {
            return false;
        }

        var key = new Entry(destination.Network.Value, destination.Mask, destination.PrefixLength, 0);
        bool removed = false;
        for (int i = _entries.Count - 1; i >= 0; i--)
        {
            if (_entries[i].SameDestination(key))
            {
                _entries.RemoveAt(i);
                _routes.RemoveAt(i);
                removed = true;
            }
        }

        return removed;
    }

    /// <summary>
    /// RFC 4632 §5.1: finds the route with the longest prefix containing <paramref name="destination"/>; among
    /// equally long prefixes the lowest metric, then the one added first. Allocates nothing.
    /// </summary>
    public bool TryLookup(IPv4Address destination, [NotNullWhen(true)] out Route? route)
    {
        uint address = destination.Value;
        for (int i = 0; i < _entries.Count; i++)
        {
            Entry entry = _entries[i];
            if ((address & entry.Mask) == entry.Network)
            {
                route = _routes[i];
                return true;
            }
        }

        route = null;
        return false;
    }

    /// <summary>Removes every route.</summary>
    public void Clear()
    {
        _entries.Clear();
        _routes.Clear();
    }

    private readonly record struct Entry(uint Network, uint Mask, int PrefixLength, int Metric)
    {
        public bool SameDestination(Entry other) => Network == other.Network && PrefixLength == other.PrefixLength;

        /// <summary>Whether this entry must be looked at before <paramref name="other"/>. Ties are not strict, so a
        /// new entry goes behind the equal ones already present: first added wins.</summary>
        public bool PrecedesStrictly(Entry other) =>
            PrefixLength > other.PrefixLength || (PrefixLength == other.PrefixLength && Metric < other.Metric);
    }
}
