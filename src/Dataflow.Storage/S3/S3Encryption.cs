namespace Dataflow.Storage;

/// <summary>Server-side encryption of the objects a store writes.</summary>
public enum S3Encryption
{
    /// <summary>None requested (the bucket's default applies).</summary>
    None,

    /// <summary>SSE-S3 (<c>x-amz-server-side-encryption: AES256</c>); OSS accepts the same header for its own keys.</summary>
    S3Managed,

    /// <summary>SSE-KMS (<c>aws:kms</c>), with <see cref="S3StoreOptions.KmsKeyId"/> or the account's default key.</summary>
    Kms,
}
