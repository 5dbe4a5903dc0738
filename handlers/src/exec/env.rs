//! The command's environment: what passes through from the parent, and which injected
//! variables hold secrets.

/// Environment variables passed through from the parent process (everything else is cleared).
///
/// Locale and time zone keep output formatting stable; the CA bundle and proxy
/// variables are host-level network configuration that CLIs need to reach cloud APIs
/// from behind a corporate proxy or TLS-inspecting gateway.
pub const PASSED_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
];

/// Substrings (of the upper-cased name) marking an injected variable's value as secret.
const SECRET_NAME_MARKERS: &[&str] = &[
    "SECRET",
    "TOKEN",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "SESSION",
    "COOKIE",
];

/// Whether the value of an injected variable with this name is treated as a secret
/// (and therefore redacted from the output): the name contains one of `SECRET`,
/// `TOKEN`, `PASSWORD`, `PASSWD`, `PASSPHRASE`, `KEY`, `CREDENTIAL`, `AUTH`, `PRIVATE`,
/// `SESSION`, `COOKIE` (case-insensitively). Plain configuration such as
/// `AWS_REGION` or `CLOUDSDK_CORE_PROJECT` is not, so it stays readable in the output.
pub fn is_secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_MARKERS
        .iter()
        .any(|marker| upper.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_env_names() {
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
            "GITHUB_TOKEN",
            "PGPASSWORD",
            "AZURE_CLIENT_SECRET",
            "DD_API_KEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "vault_token",
        ] {
            assert!(is_secret_env_name(name), "{name}");
        }
        for name in [
            "AWS_REGION",
            "CLOUDSDK_CORE_PROJECT",
            "AZURE_TENANT_ID",
            "KUBECONFIG",
        ] {
            assert!(!is_secret_env_name(name), "{name}");
        }
    }
}
