using Jobs.Silo;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Logging.AddFilter("Orleans", LogLevel.Warning);
builder.Logging.AddFilter("Polly", LogLevel.Warning);
string? keyWarning;
try
{
    keyWarning = builder.AddJobsSilo();
}
catch (InvalidOperationException e)
{
    // A configuration mistake: say what is wrong in one line rather than with a stack trace.
    await Console.Error.WriteLineAsync($"Jobs silo cannot start: {e.Message}");
    return 1;
}

var options = builder.Configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
if (!string.IsNullOrWhiteSpace(options.MetricsListen))
{
    if (!System.Net.IPEndPoint.TryParse(options.MetricsListen, out var metrics))
    {
        await Console.Error.WriteLineAsync($"Jobs silo cannot start: Orleans:MetricsListen '{options.MetricsListen}' is not an address:port");
        return 1;
    }

    builder.Services.AddOpenTelemetry().WithMetrics(meter => meter
        .AddMeter(Jobs.Grains.JobMetrics.MeterName)
        .AddPrometheusHttpListener(listener =>
        {
            listener.Host = metrics.Address.ToString();
            listener.Port = metrics.Port;
        }));
}

var host = builder.Build();
if (keyWarning is not null)
{
    host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Jobs.Silo").LogWarning("{Warning}", keyWarning);
}

await host.RunAsync();
return 0;
