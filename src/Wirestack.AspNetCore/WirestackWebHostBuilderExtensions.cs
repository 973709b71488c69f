using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Wirestack.Stack;

namespace Wirestack.AspNetCore;

/// <summary>Serves an ASP.NET Core app through Kestrel over a Wirestack stack.</summary>
public static class WirestackWebHostBuilderExtensions
{
    /// <summary>Makes Kestrel listen on <paramref name="stack"/> instead of operating-system sockets: its
    /// endpoints (<c>options.Listen(IPAddress.Any, 443, ...)</c>) are bound as Wirestack listeners. Kestrel's
    /// own transport registration is replaced, whichever of UseKestrel and UseWirestack comes first.</summary>
    public static IWebHostBuilder UseWirestack(this IWebHostBuilder builder, NetStack stack, Action<WirestackTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(stack);
        return builder.ConfigureServices(services => services.AddWirestackTransport(stack, configure));
    }

    /// <summary>The service registrations behind <see cref="UseWirestack"/>.</summary>
    public static IServiceCollection AddWirestackTransport(this IServiceCollection services, NetStack stack, Action<WirestackTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(stack);
        services.Configure<WirestackTransportOptions>(options =>
        {
            options.Stack = stack;
            configure?.Invoke(options);
        });
        services.RemoveAll<IConnectionListenerFactory>();
        services.AddSingleton<IConnectionListenerFactory, WirestackConnectionListenerFactory>();
        return services;
    }
}
