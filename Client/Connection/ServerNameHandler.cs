namespace Jobs.Client.Connection;

/// <summary>
/// Makes TLS expect <c>--domain</c> instead of the endpoint's host.
/// </summary>
/// <remarks>
/// SocketsHttpHandler overwrites <c>SslOptions.TargetHost</c> with the request's Host header (or
/// the URI's host), so the Host header is the only way to choose the SNI name and the name the
/// server certificate is checked against. It also becomes the HTTP/2 :authority, which is what a
/// server reached under that name expects anyway.
/// </remarks>
internal sealed class ServerNameHandler : DelegatingHandler
{
    private readonly string _host;

    public ServerNameHandler(string domain, int port, HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
        // An IPv6 literal needs brackets to be told apart from the port.
        var host = domain.Contains(':', StringComparison.Ordinal) && !domain.StartsWith('[') ? $"[{domain}]" : domain;
        _host = $"{host}:{port}";
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Host = _host;
        return base.SendAsync(request, cancellationToken);
    }
}
