//! Where SNS signing certificates and subscription confirmation URLs may be fetched from: the
//! allow-list that keeps a forged `SigningCertURL` from pointing Aurora at a key of its choosing.

use reqwest::Url;

/// Where SNS signing certificates and subscription confirmation URLs may come from: Amazon SNS
/// (`https://sns.<region>.amazonaws.com[.cn]`), and the origins an operator adds
/// (`AURORA_SNS_CERT_ORIGINS`, e.g. a local stand-in; plain `http` only on loopback).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnsOrigins {
    /// (scheme, host, port) of each extra origin.
    extra: Vec<(String, String, u16)>,
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// `sns.<region>.amazonaws.com` or `sns.<region>.amazonaws.com.cn`.
fn is_sns_host(host: &str) -> bool {
    host.strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
        .and_then(|rest| rest.strip_prefix("sns."))
        .is_some_and(|region| {
            !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `SimpleNotificationService-<hex>.pem`.
fn is_sns_cert_path(path: &str) -> bool {
    path.strip_prefix("/SimpleNotificationService-")
        .and_then(|rest| rest.strip_suffix(".pem"))
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl SnsOrigins {
    /// Amazon SNS only.
    pub fn aws_only() -> Self {
        Self::default()
    }

    /// Amazon SNS and `extra` origins (`https://host[:port]`, or `http://` on loopback).
    pub fn new<S: AsRef<str>>(extra: &[S]) -> Result<Self, String> {
        let mut origins = Self::default();
        for origin in extra {
            let origin = origin.as_ref().trim();
            if origin.is_empty() {
                continue;
            }
            let url = Self::parse_origin(origin)?;
            let key = Self::key(&url).ok_or_else(|| format!("{origin:?} has no host"))?;
            if !origins.extra.contains(&key) {
                origins.extra.push(key);
            }
        }
        Ok(origins)
    }

    /// Checks one origin as an operator writes it (`http://127.0.0.1:1234`), for the command line.
    pub fn parse_origin(origin: &str) -> Result<Url, String> {
        let url = Url::parse(origin.trim())
            .map_err(|e| format!("{origin:?} is not an origin (scheme://host[:port]): {e}"))?;
        let host = url.host_str().unwrap_or_default();
        let plain = !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || !matches!(url.path(), "" | "/");
        if host.is_empty() || plain {
            return Err(format!(
                "{origin:?} is not an origin: only scheme://host[:port], no path"
            ));
        }
        match url.scheme() {
            "https" => Ok(url),
            "http" if is_loopback(host) => Ok(url),
            "http" => Err(format!(
                "{origin:?}: plain http is trusted only on 127.0.0.1 or localhost; use https"
            )),
            other => Err(format!("{origin:?}: scheme {other} is not http(s)")),
        }
    }

    fn key(url: &Url) -> Option<(String, String, u16)> {
        Some((
            url.scheme().to_owned(),
            url.host_str()?.to_owned(),
            url.port_or_known_default()?,
        ))
    }

    fn is_extra(&self, url: &Url) -> bool {
        Self::key(url).is_some_and(|k| self.extra.contains(&k))
    }

    fn is_sns(url: &Url) -> bool {
        url.scheme() == "https"
            && url.port_or_known_default() == Some(443)
            && url.host_str().is_some_and(is_sns_host)
    }

    fn parse(raw: &str, what: &str) -> Result<Url, String> {
        let url = Url::parse(raw).map_err(|e| format!("the {what} {raw:?} is not a URL: {e}"))?;
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(format!("the {what} {raw:?} is not a plain URL"));
        }
        Ok(url)
    }

    /// The signing certificate URL, if it may be fetched.
    pub fn cert_url(&self, raw: &str) -> Result<Url, String> {
        let what = "signing certificate URL";
        let url = Self::parse(raw, what)?;
        if url.query().is_some() {
            return Err(format!("the {what} {raw:?} must not have a query"));
        }
        if Self::is_sns(&url) {
            if is_sns_cert_path(url.path()) {
                return Ok(url);
            }
            return Err(format!(
                "the {what} {raw:?} is not an SNS certificate (/SimpleNotificationService-<hex>.pem)"
            ));
        }
        if self.is_extra(&url) {
            if url.path().ends_with(".pem") {
                return Ok(url);
            }
            return Err(format!("the {what} {raw:?} is not a .pem file"));
        }
        Err(format!(
            "the {what} {raw:?} is neither on Amazon SNS nor on a trusted origin"
        ))
    }

    /// The subscription confirmation URL, if it may be fetched.
    pub fn subscribe_url(&self, raw: &str) -> Result<Url, String> {
        let url = Self::parse(raw, "SubscribeURL")?;
        if Self::is_sns(&url) || self.is_extra(&url) {
            Ok(url)
        } else {
            Err(format!(
                "the SubscribeURL on {} is neither Amazon SNS nor a trusted origin",
                url.origin().ascii_serialization()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::sns::test_support::*;

    #[tokio::test]
    async fn certificates_come_only_from_sns_or_a_trusted_origin() {
        for (url, words) in [
            ("https://evil.example.com/SimpleNotificationService-0123abcd.pem", "neither"),
            ("https://sns.eu-west-1.amazonaws.com.evil.io/SimpleNotificationService-0123abcd.pem", "neither"),
            ("https://sns.eu-west-1.amazonaws.com@evil.io/SimpleNotificationService-0123abcd.pem", "not a plain URL"),
            ("http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem", "neither"),
            ("https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-0123abcd.pem", "neither"),
            ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.txt", "not an SNS certificate"),
            ("https://sns.eu-west-1.amazonaws.com/evil.pem", "not an SNS certificate"),
            ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem?x=1", "query"),
            ("not a url", "not a URL"),
        ] {
            let mut fields = notification(&alarm("ALARM").to_string());
            fields["SigningCertURL"] = url.into();
            refused_saying(check(&signed(fields, "2"), Some(TOPIC)).await, words);
        }
        let origins = SnsOrigins::aws_only();
        assert!(origins
            .cert_url("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-99ab.pem")
            .is_ok());
        assert!(origins.cert_url(CERT_URL).is_ok());
        assert!(origins
            .cert_url("http://127.0.0.1:9999/SimpleNotificationService-99ab.pem")
            .is_err());

        // Extra origins: loopback over http, anything over https; then any .pem path.
        let origins = SnsOrigins::new(&["http://127.0.0.1:9999", " https://certs.internal "])
            .expect("origins");
        assert!(origins
            .cert_url("http://127.0.0.1:9999/sns/cert.pem")
            .is_ok());
        assert!(origins.cert_url("https://certs.internal/a.pem").is_ok());
        for off in [
            "http://127.0.0.1:9998/cert.pem",
            "https://127.0.0.1:9999/cert.pem",
            "http://127.0.0.1:9999/cert.txt",
            "http://certs.internal/a.pem",
        ] {
            assert!(origins.cert_url(off).is_err(), "{off}");
        }
        assert!(origins
            .subscribe_url("http://127.0.0.1:9999/confirm?Token=x")
            .is_ok());
        assert!(origins.subscribe_url(SUBSCRIBE_URL).is_ok());
        assert!(origins
            .subscribe_url("https://evil.example.com/?Action=ConfirmSubscription")
            .is_err());
        for bad in [
            "http://sns.example.com",
            "http://10.0.0.1:80",
            "ftp://127.0.0.1",
            "https://host/path",
            "http://localhost:1/?q",
            "nonsense",
        ] {
            assert!(SnsOrigins::new(&[bad]).is_err(), "{bad}");
        }
        assert!(SnsOrigins::new(&["http://localhost:8080", "http://[::1]:1"]).is_ok());
    }
}
