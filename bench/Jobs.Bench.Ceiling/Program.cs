using Jobs.Bench.Ceiling;
using Jobs.Gateway;
using Jobs.Gateway.Security;

// The gRPC ceiling: the gateway's Kestrel, TLS and gRPC settings, serving Logs from memory (no job,
// no Orleans, no spool), so the bench can tell what the job runner's path costs from what the wire
// and the client cost. The job id is the number of bytes to send.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var options = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddGrpc();
try
{
    builder.UseMutualTls(options);
}
catch (InvalidOperationException e)
{
    await Console.Error.WriteLineAsync($"Jobs gRPC ceiling cannot start: {e.Message}");
    return 1;
}

var app = builder.Build();
app.MapGrpcService<CeilingService>();
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"Jobs gRPC ceiling listening on {options.Listen}, {CeilingService.ChunkSize} B messages"));
await app.RunAsync();
return 0;
