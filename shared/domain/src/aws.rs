//! The AWS SDK configuration every client of a process shares (DynamoDB, SES): credentials
//! and region from the environment, one HTTPS client (one connection pool, one trust store).
//! On Lambda, which always sets both in the environment, only the environment is read: the
//! default chains (profile files, web identity with its STS client, instance metadata) are
//! not even built (a sixth of the auth function's init); elsewhere (an operator's CLI with a
//! profile) the default chains apply.
//!
//! AWS endpoints present certificates of Amazon Trust Services, so that client trusts
//! exactly its roots (Amazon Root CA 1–4 and the Starfield Services G2 cross-signing root,
//! the set AWS documents for custom trust stores), compiled in: no system certificate store
//! is read and parsed during a cold start (it was 5 ms of a 12 ms init). A custom HTTPS
//! endpoint (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, ...: a proxy, another
//! DynamoDB-compatible service) may be signed by anyone: then the system's roots are used.
//! (A plain-HTTP endpoint, like the local engine, uses no TLS at all.)

use aws_config::SdkConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use tokio::sync::OnceCell;

/// Amazon Trust Services' roots (PEM).
pub const AMAZON_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

static SHARED: OnceCell<SdkConfig> = OnceCell::const_new();

/// The process's SDK configuration, loaded on first use.
pub async fn sdk_config() -> &'static SdkConfig {
    SHARED
        .get_or_init(|| async {
            let loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(
                http_client(custom_https_endpoint(|name| std::env::var(name).ok())),
            );
            let loader = if crate::config::Runtime::from_env().on_lambda() {
                loader
                    .credentials_provider(
                        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
                    )
                    .region(aws_config::environment::EnvironmentVariableRegionProvider::new())
            } else {
                loader
            };
            loader.load().await
        })
        .await
}

/// Whether the environment points an AWS client at an HTTPS endpoint of its own.
fn custom_https_endpoint(get: impl Fn(&str) -> Option<String>) -> bool {
    [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SESV2",
    ]
    .iter()
    .any(|name| {
        get(name).is_some_and(|v| {
            v.trim()
                .get(..8)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        })
    })
}

fn http_client(
    custom_https_endpoint: bool,
) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    let trust = if custom_https_endpoint {
        TrustStore::default()
    } else {
        TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(AMAZON_ROOTS.as_bytes())
    };
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .expect("a fixed TLS context"),
        )
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_are_amazon_trust_services() {
        let certs: Vec<_> =
            rustls_pki_types::pem::PemObject::pem_slice_iter(AMAZON_ROOTS.as_bytes())
                .collect::<Result<Vec<rustls_pki_types::CertificateDer>, _>>()
                .expect("valid PEM");
        assert_eq!(certs.len(), 5);
    }

    #[test]
    fn only_a_custom_https_endpoint_uses_the_system_roots() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(!custom_https_endpoint(env(&[("AWS_REGION", "eu-west-1")])));
        assert!(!custom_https_endpoint(env(&[(
            "AWS_ENDPOINT_URL_DYNAMODB",
            " "
        )])));
        assert!(!custom_https_endpoint(env(&[(
            "AWS_ENDPOINT_URL_DYNAMODB",
            "http://127.0.0.1:8000"
        )])));
        assert!(custom_https_endpoint(env(&[(
            "AWS_ENDPOINT_URL",
            "HTTPS://proxy.internal"
        )])));
        assert!(custom_https_endpoint(env(&[(
            "AWS_ENDPOINT_URL_SESV2",
            "https://email.internal"
        )])));
    }
}
