namespace Dataflow.Testing;

/// <summary>One request the fake API server answered, as an RBAC check sees it.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The request path, without the query.</param>
/// <param name="Verb">The Kubernetes verb: get, list, watch, create, update, patch, delete or deletecollection.</param>
/// <param name="ApiGroup">The API group; empty for the core group.</param>
/// <param name="Resource">The resource, with its subresource when there is one (<c>pods/log</c>).</param>
/// <param name="Namespace">The namespace, or empty.</param>
/// <param name="StatusCode">The HTTP status code of the answer.</param>
public sealed record ApiRequest(
    string Method, string Path, string Verb, string ApiGroup, string Resource, string Namespace, int StatusCode);
