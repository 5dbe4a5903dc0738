//! SNS signing certificates: fetched once from an allowed URL, bounded in size, their RSA public
//! key kept in a bounded cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Url;
use x509_cert::der::DecodePem as _;
use x509_cert::spki::ObjectIdentifier;
use x509_cert::Certificate;

use crate::sources::Refusal;

/// Signing certificates kept (SNS uses one per region at a time, rotated rarely).
const CERT_CACHE_MAX: usize = 64;
/// A certificate larger than this is not one.
const CERT_MAX_BYTES: usize = 64 * 1024;
/// SNS signing keys by certificate URL (each certificate has its own URL), bounded.
#[derive(Default)]
pub struct CertCache {
    /// The RSA public key (PKCS#1 DER) of each certificate.
    keys: Mutex<HashMap<String, Arc<[u8]>>>,
}

impl CertCache {
    /// Adds the certificate `pem` as if fetched from `url` (preloading; tests).
    pub fn insert_pem(&self, url: &str, pem: &[u8]) -> Result<(), CertificateError> {
        let key = rsa_public_key_of_pem(pem)?;
        self.insert(url, key.into());
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<[u8]>>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn insert(&self, url: &str, key: Arc<[u8]>) {
        let mut keys = self.lock();
        if keys.len() >= CERT_CACHE_MAX && !keys.contains_key(url) {
            if let Some(evicted) = keys.keys().next().cloned() {
                keys.remove(&evicted);
            }
        }
        keys.insert(url.to_owned(), key);
    }

    /// The key of the certificate at `url`: cached, else fetched.
    pub(crate) async fn key(
        &self,
        http: &reqwest::Client,
        url: &Url,
    ) -> Result<Arc<[u8]>, Refusal> {
        let cached = self.lock().get(url.as_str()).cloned();
        if let Some(key) = cached {
            return Ok(key);
        }
        let response = http.get(url.clone()).send().await.map_err(|e| {
            Refusal::Unavailable(format!(
                "the SNS signing certificate {url} cannot be fetched: {e}"
            ))
        })?;
        let status = response.status();
        if status.is_client_error() {
            return Err(Refusal::Unauthorized(format!(
                "the SNS signing certificate {url} does not exist ({status})"
            )));
        }
        if !status.is_success() {
            return Err(Refusal::Unavailable(format!(
                "the SNS signing certificate {url} cannot be fetched ({status})"
            )));
        }
        let mut response = response;
        let mut pem = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            Refusal::Unavailable(format!(
                "the SNS signing certificate {url} cannot be read: {e}"
            ))
        })? {
            pem.extend_from_slice(&chunk);
            if pem.len() > CERT_MAX_BYTES {
                return Err(Refusal::Unauthorized(format!(
                    "{url} is too large to be a certificate"
                )));
            }
        }
        let key: Arc<[u8]> = rsa_public_key_of_pem(&pem)
            .map_err(|e| {
                Refusal::Unauthorized(format!(
                    "the SNS signing certificate {url} is not usable: {e}"
                ))
            })?
            .into();
        self.insert(url.as_str(), key.clone());
        Ok(key)
    }
}

/// 1.2.840.113549.1.1.1, the algorithm of an RSA `SubjectPublicKeyInfo`.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Why a fetched (or preloaded) certificate gives no signing key.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("not a PEM X.509 certificate: {0}")]
    NotACertificate(#[source] x509_cert::der::Error),
    #[error("the certificate's key is not an RSA key (algorithm {0})")]
    NotRsa(ObjectIdentifier),
    #[error("the certificate's public key is malformed")]
    MalformedKey,
}

/// The first PEM certificate block of `pem`: a served chain or text around the block is
/// tolerated, as before, while the PEM reader takes exactly one block.
fn first_certificate_block(pem: &[u8]) -> &[u8] {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let find = |haystack: &[u8], needle: &[u8]| {
        haystack
            .windows(needle.len())
            .position(|window| window == needle)
    };
    let Some(start) = find(pem, BEGIN) else {
        return pem;
    };
    let block = &pem[start..];
    match find(block, END) {
        Some(end) => &block[..end + END.len()],
        None => block,
    }
}

/// The RSA public key (PKCS#1 `RSAPublicKey` DER, what ring verifies with) of the first
/// certificate in `pem`.
fn rsa_public_key_of_pem(pem: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let certificate = Certificate::from_pem(first_certificate_block(pem))
        .map_err(CertificateError::NotACertificate)?;
    let spki = certificate.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(CertificateError::NotRsa(spki.algorithm.oid));
    }
    // For RSA the BIT STRING holds the RSAPublicKey DER, with no unused bits.
    match spki.subject_public_key.as_bytes() {
        Some(key) if !key.is_empty() => Ok(key.to_vec()),
        _ => Err(CertificateError::MalformedKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;

    const KEY: &str = include_str!("../../../../tests/fixtures/sns/key.pem");
    const CERT: &str = include_str!("../../../../tests/fixtures/sns/cert.pem");
    const OTHER_CERT: &str = include_str!("../../../../tests/fixtures/sns/other-cert.pem");
    /// A P-256 (not RSA) certificate.
    const EC_CERT: &str = include_str!("../../../../tests/fixtures/sns/ec-cert.pem");

    #[test]
    fn certificates_yield_their_rsa_key() {
        let key = rsa_public_key_of_pem(CERT.as_bytes()).expect("a key");
        let other = rsa_public_key_of_pem(OTHER_CERT.as_bytes()).expect("a key");
        assert_ne!(key, other);
        // Exactly the PKCS#1 public key of the fixture's private key.
        let expected = rsa::RsaPrivateKey::from_pkcs8_pem(KEY)
            .expect("the fixture key")
            .to_public_key()
            .to_pkcs1_der()
            .expect("PKCS#1");
        assert_eq!(key, expected.as_bytes());
        // A chain, or text around the block: the first certificate's key.
        let chain = format!("issued by the test CA\n{CERT}{OTHER_CERT}\ntrailing text\n");
        assert_eq!(rsa_public_key_of_pem(chain.as_bytes()).expect("a key"), key);
        for bad in [
            "",
            "-----BEGIN CERTIFICATE-----\nAAAA\n",
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----",
            KEY,
        ] {
            assert!(rsa_public_key_of_pem(bad.as_bytes()).is_err(), "{bad}");
        }
        let cache = CertCache::default();
        for i in 0..CERT_CACHE_MAX + 10 {
            cache
                .insert_pem(&format!("https://x/{i}.pem"), CERT.as_bytes())
                .expect("insert");
        }
        assert_eq!(cache.len(), CERT_CACHE_MAX, "bounded");
    }

    #[test]
    fn garbage_and_non_rsa_certificates_are_refused_saying_why() {
        let truncated = {
            let end = CERT.find("-----END").expect("an end line");
            format!("{}\n{}", &CERT[..end / 2], &CERT[end..])
        };
        for garbage in [
            "garbage".to_owned(),
            "\u{0}\u{1}binary".to_owned(),
            truncated,
            KEY.to_owned(),
        ] {
            let refused = rsa_public_key_of_pem(garbage.as_bytes()).expect_err("refused");
            assert!(
                matches!(refused, CertificateError::NotACertificate(_)),
                "{garbage}: {refused:?}"
            );
            assert!(
                refused
                    .to_string()
                    .starts_with("not a PEM X.509 certificate: "),
                "{refused}"
            );
        }
        let refused = rsa_public_key_of_pem(EC_CERT.as_bytes()).expect_err("refused");
        assert!(
            matches!(refused, CertificateError::NotRsa(_)),
            "{refused:?}"
        );
        assert_eq!(
            refused.to_string(),
            "the certificate's key is not an RSA key (algorithm 1.2.840.10045.2.1)"
        );
        let cache = CertCache::default();
        assert!(cache
            .insert_pem("https://x/ec.pem", EC_CERT.as_bytes())
            .is_err());
        assert!(
            cache.is_empty(),
            "nothing cached from a refused certificate"
        );
    }
}
