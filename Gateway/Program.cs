using Jobs.Gateway;
using Jobs.Gateway.Security;
using Jobs.Gateway.Services;
using Jobs.Grains;
using Jobs.Silo;
using OpenTelemetry.Metrics;
using Orleans.Dashboard;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var options = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();

System.Net.IPEndPoint? dashboardEndpoint = null;
if (!string.IsNullOrWhiteSpace(options.DashboardListen) && !System.Net.IPEndPoint.TryParse(options.DashboardListen, out dashboardEndpoint))
{
    await Console.Error.WriteLineAsync($"Jobs gateway cannot start: Gateway:DashboardListen '{options.DashboardListen}' is not an address:port");
    return 1;
}

string? clusterKeyWarning;
try
{
    clusterKeyWarning = builder.AddJobsOrleans(options.Silo, dashboard: dashboardEndpoint is not null);
}
catch (InvalidOperationException e)
{
    await Console.Error.WriteLineAsync($"Jobs gateway cannot start: {e.Message}");
    return 1;
}

if (dashboardEndpoint is not null)
{
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(dashboardEndpoint, listen => listen.ServePlainHttp(GatewayListener.Dashboard)));
}

builder.Services.Configure<JobOptions>(builder.Configuration.GetSection(JobOptions.Section));
builder.Services.Configure<GatewayOptions>(builder.Configuration.GetSection(GatewayOptions.Section));
builder.Services.AddGrpc(grpc =>
{
    // The caller is known (and audited) before anything else runs; errors are mapped inside it.
    grpc.Interceptors.Add<CallerInterceptor>();
    grpc.Interceptors.Add<ErrorMappingInterceptor>();
});
builder.Services.AddGrpcHealthChecks().AddCheck<SiloHealthCheck>("silo");
System.Net.IPEndPoint? metricsEndpoint = null;
if (!string.IsNullOrWhiteSpace(options.MetricsListen))
{
    if (!System.Net.IPEndPoint.TryParse(options.MetricsListen, out metricsEndpoint))
    {
        await Console.Error.WriteLineAsync($"Jobs gateway cannot start: Gateway:MetricsListen '{options.MetricsListen}' is not an address:port");
        return 1;
    }

    builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
        .AddMeter(JobMetrics.MeterName)
        .AddPrometheusExporter());
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(metricsEndpoint, listen => listen.ServePlainHttp(GatewayListener.Metrics)));
}

builder.Services.AddGrpcReflection();
builder.Services.AddSingleton<SharedReads>();
builder.Services.AddSingleton<JobOutputFollower>();
builder.Services.AddSingleton<JobEndWaiter>();
builder.Services.AddSingleton<JobAttacher>();
builder.Services.AddSingleton<AuditLog>();
builder.Services.AddSingleton<ServerStopping>();
builder.Services.AddSingleton<FollowerCounts>();
builder.Services.AddSingleton<CallRateLimiter>();
string? keyWarning;
try
{
    keyWarning = builder.UseMutualTls(options);
    builder.AddDenyList(options.DenyList);
}
catch (InvalidOperationException e)
{
    // A configuration mistake: say what is wrong in one line rather than with a stack trace.
    await Console.Error.WriteLineAsync($"Jobs gateway cannot start: {e.Message}");
    return 1;
}

var app = builder.Build();

// Metrics and dashboard on their own plain-HTTP listeners only; gRPC on the mutual-TLS one only.
app.UseListenerPipelines(metrics: metricsEndpoint is not null, dashboard: dashboardEndpoint is not null);
app.UseUnreadableRequestStatus();
app.MapGrpcService<JobsService>();
app.MapGrpcHealthChecksService();
app.MapGrpcReflectionService();

app.Lifetime.ApplicationStarted.Register(() =>
{
    app.Logger.LogInformation("{Endpoint}", MutualTls.Describe(options));
    if (metricsEndpoint is not null)
    {
        app.Logger.LogInformation("Prometheus metrics on http://{Metrics}/metrics", metricsEndpoint);
    }

    foreach (string? warning in (string?[])[keyWarning, clusterKeyWarning])
    {
        if (warning is not null)
        {
            app.Logger.LogWarning("{Warning}", warning);
        }
    }
});
await app.RunAsync();
return 0;
