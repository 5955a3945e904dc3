using System.Globalization;
using System.Text.Json;
using Amazon.Runtime;

namespace Dataflow.Storage;

/// <summary>
/// RRSA on Alibaba Cloud ACK (RAM Roles for Service Accounts): the pod gets an OIDC token file and a role; Alibaba's
/// STS exchanges them for temporary keys (AssumeRoleWithOIDC), which sign OSS requests through its S3-compatible
/// API. AWSSDK's own chain cannot do this (it speaks AWS's STS), so the store uses these credentials when the
/// variables ACK injects are set: <c>ALIBABA_CLOUD_ROLE_ARN</c>, <c>ALIBABA_CLOUD_OIDC_PROVIDER_ARN</c>,
/// <c>ALIBABA_CLOUD_OIDC_TOKEN_FILE</c> (and optionally <c>ALIBABA_CLOUD_STS_ENDPOINT</c>,
/// <c>ALIBABA_CLOUD_ROLE_SESSION_NAME</c>). Keys are refreshed before they expire; the token file is read anew
/// each time, since it rotates.
/// </summary>
internal sealed class AlibabaRrsaCredentials : RefreshingAWSCredentials
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private readonly string _roleArn;
    private readonly string _providerArn;
    private readonly string _tokenFile;
    private readonly Uri _endpoint;
    private readonly string _sessionName;

    public AlibabaRrsaCredentials(string roleArn, string providerArn, string tokenFile, Uri endpoint, string sessionName)
    {
        _roleArn = roleArn;
        _providerArn = providerArn;
        _tokenFile = tokenFile;
        _endpoint = endpoint;
        _sessionName = sessionName;
        PreemptExpiryTime = TimeSpan.FromMinutes(5);
    }

    /// <summary>The credentials the environment describes, or <see langword="null"/> when it does not describe RRSA.</summary>
    public static AlibabaRrsaCredentials? FromEnvironment()
    {
        var role = Environment.GetEnvironmentVariable("ALIBABA_CLOUD_ROLE_ARN");
        var provider = Environment.GetEnvironmentVariable("ALIBABA_CLOUD_OIDC_PROVIDER_ARN");
        var token = Environment.GetEnvironmentVariable("ALIBABA_CLOUD_OIDC_TOKEN_FILE");
        if (string.IsNullOrEmpty(role) || string.IsNullOrEmpty(provider) || string.IsNullOrEmpty(token))
        {
            return null;
        }

        var endpoint = Environment.GetEnvironmentVariable("ALIBABA_CLOUD_STS_ENDPOINT") is { Length: > 0 } e ? e : "sts.aliyuncs.com";
        var session = Environment.GetEnvironmentVariable("ALIBABA_CLOUD_ROLE_SESSION_NAME") is { Length: > 0 } s
            ? s
            : "dataflow-" + Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture);
        return new AlibabaRrsaCredentials(role, provider, token, new Uri(endpoint.Contains("://", StringComparison.Ordinal) ? endpoint : "https://" + endpoint), session);
    }

    protected override CredentialsRefreshState GenerateNewCredentials() =>
        GenerateNewCredentialsAsync().GetAwaiter().GetResult();

    protected override async Task<CredentialsRefreshState> GenerateNewCredentialsAsync()
    {
        var token = (await File.ReadAllTextAsync(_tokenFile).ConfigureAwait(false)).Trim();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Action"] = "AssumeRoleWithOIDC",
            ["Format"] = "JSON",
            ["Version"] = "2015-04-01",
            ["Timestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["RoleArn"] = _roleArn,
            ["OIDCProviderArn"] = _providerArn,
            ["OIDCToken"] = token,
            ["RoleSessionName"] = _sessionName,
            ["DurationSeconds"] = "3600",
        });
        using var response = await s_http.PostAsync(_endpoint, form).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        using var json = JsonDocument.Parse(body);
        if (!response.IsSuccessStatusCode || !json.RootElement.TryGetProperty("Credentials", out var credentials))
        {
            var code = json.RootElement.TryGetProperty("Code", out var c) ? c.GetString() : null;
            var message = json.RootElement.TryGetProperty("Message", out var m) ? m.GetString() : null;
            throw new AmazonClientException($"Alibaba Cloud STS refused AssumeRoleWithOIDC for role '{_roleArn}' ({(int)response.StatusCode} {code}: {message}); check the RRSA credentials of the pod");
        }

        var expiration = DateTime.Parse(credentials.GetProperty("Expiration").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        return new CredentialsRefreshState(
            new ImmutableCredentials(
                credentials.GetProperty("AccessKeyId").GetString(),
                credentials.GetProperty("AccessKeySecret").GetString(),
                credentials.GetProperty("SecurityToken").GetString()),
            expiration);
    }
}
