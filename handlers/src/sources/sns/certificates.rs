//! SNS signing certificates: fetched once from an allowed URL, bounded in size, their RSA public
//! key kept in a bounded cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use reqwest::Url;

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
    pub fn insert_pem(&self, url: &str, pem: &[u8]) -> Result<(), String> {
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

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OBJECT_IDENTIFIER: u8 = 0x06;
/// `[0] EXPLICIT Version` of a v2/v3 certificate.
const VERSION: u8 = 0xa0;
/// 1.2.840.113549.1.1.1
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// One DER element of `input`: its contents and what follows, if its tag is `tag`.
fn der_element(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), String> {
    let bad = || format!("not DER: expected an element with tag {tag:#04x}");
    let (&found, rest) = input.split_first().ok_or_else(bad)?;
    let (&first, rest) = rest.split_first().ok_or_else(bad)?;
    if found != tag {
        return Err(bad());
    }
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad());
    }
    Ok(rest.split_at(len))
}

/// The RSA public key (PKCS#1 `RSAPublicKey` DER) of an X.509 certificate (DER).
fn rsa_public_key_of_certificate(der: &[u8]) -> Result<Vec<u8>, String> {
    let (certificate, _) = der_element(der, SEQUENCE)?;
    let (tbs, _) = der_element(certificate, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&VERSION) {
        rest = der_element(rest, VERSION)?.1;
    }
    rest = der_element(rest, INTEGER)?.1; // serialNumber
    for _field in ["signature", "issuer", "validity", "subject"] {
        rest = der_element(rest, SEQUENCE)?.1;
    }
    let (spki, _) = der_element(rest, SEQUENCE)?;
    let (algorithm, rest) = der_element(spki, SEQUENCE)?;
    let (oid, _) = der_element(algorithm, OBJECT_IDENTIFIER)?;
    if oid != RSA_ENCRYPTION {
        return Err("the certificate's key is not an RSA key".into());
    }
    match der_element(rest, BIT_STRING)?.0.split_first() {
        Some((0, key)) if !key.is_empty() => Ok(key.to_vec()),
        _ => Err("the certificate's public key is malformed".into()),
    }
}

/// The RSA public key of the first certificate in `pem`.
fn rsa_public_key_of_pem(pem: &[u8]) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = std::str::from_utf8(pem).map_err(|_| "not a PEM certificate".to_owned())?;
    let start = text
        .find(BEGIN)
        .ok_or_else(|| "not a PEM certificate".to_owned())?
        + BEGIN.len();
    let end = text[start..]
        .find(END)
        .ok_or_else(|| "a PEM certificate without its end".to_owned())?
        + start;
    let base64: String = text[start..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64)
        .map_err(|e| format!("the PEM certificate is not base64: {e}"))?;
    rsa_public_key_of_certificate(&der)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../../../tests/fixtures/sns/key.pem");
    const CERT: &str = include_str!("../../../../tests/fixtures/sns/cert.pem");
    const OTHER_CERT: &str = include_str!("../../../../tests/fixtures/sns/other-cert.pem");

    #[test]
    fn certificates_yield_their_rsa_key() {
        let key = rsa_public_key_of_pem(CERT.as_bytes()).expect("a key");
        let other = rsa_public_key_of_pem(OTHER_CERT.as_bytes()).expect("a key");
        assert_ne!(key, other);
        assert_eq!(key.first(), Some(&SEQUENCE), "an RSAPublicKey SEQUENCE");
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
}
