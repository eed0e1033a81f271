using Microsoft.AspNetCore.Server.Kestrel.Core;
using Orleans.Dashboard;

namespace Jobs.Gateway.Security;

/// <summary>
/// Routes by the listener a request arrived on. The Host header (what <c>RequireHost</c> matches) is
/// whatever the client writes, so it cannot keep the plain-HTTP routes off the mutual-TLS port or
/// the gRPC services off the plain-HTTP ones; the accepting listener can.
/// </summary>
public static class Listeners
{
    /// <summary>Marks every connection this listener accepts as having arrived on <paramref name="listener"/>.</summary>
    public static ListenOptions Serve(this ListenOptions listen, GatewayListener listener)
    {
        var feature = new ListenerFeature(listener);
        listen.Use(next => connection =>
        {
            connection.Features.Set(feature);
            return next(connection);
        });
        return listen;
    }

    /// <summary>A plain-HTTP/1.1 listener (no TLS: keep it on loopback or a private network) for <paramref name="listener"/>.</summary>
    public static ListenOptions ServePlainHttp(this ListenOptions listen, GatewayListener listener)
    {
        listen.Protocols = HttpProtocols.Http1;
        return listen.Serve(listener);
    }

    /// <summary>The listener the request's connection was accepted on; null for one no listener marked.</summary>
    public static GatewayListener? ArrivedOn(this HttpContext context) => context.Features.Get<ListenerFeature>()?.Listener;

    /// <summary>
    /// Gives the metrics and dashboard listeners pipelines of their own, each with only its own routes,
    /// and lets only requests of the mutual-TLS listener reach the application's (gRPC) endpoints.
    /// Anything else, known path or not, is answered 404.
    /// </summary>
    public static void UseListenerPipelines(this WebApplication app, bool metrics, bool dashboard)
    {
        // A branch is a routing world of its own (WebApplication drops the global route builder
        // for it), so these endpoints exist nowhere else.
        if (metrics)
        {
            app.MapWhen(c => c.ArrivedOn() == GatewayListener.Metrics, branch => branch.UseRouting().UseEndpoints(e => e.MapPrometheusScrapingEndpoint()));
        }

        if (dashboard)
        {
            app.MapWhen(c => c.ArrivedOn() == GatewayListener.Dashboard, branch => branch.UseRouting().UseEndpoints(e => e.MapOrleansDashboard()));
        }

        // Any other listener (one added by configuration, say) serves nothing.
        app.MapWhen(c => c.ArrivedOn() != GatewayListener.Grpc, branch => branch.Run(c =>
        {
            c.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }));

        // Called here, after the branches, so WebApplication does not match the gRPC endpoints at the
        // very start of the pipeline, where a branch's own routing would take the match as made.
        app.UseRouting();
    }
}
