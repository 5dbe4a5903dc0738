//! Building deliveries in source tests, and the checks every source's tests run: malformed
//! input is refused saying why, only the right secret gets in, a delivery means one signal.

use super::{Auth, Delivery, Refusal, BEARER_SECRET};
use crate::sources::{Parsed, Source};
use aurora_domain::intake::{ChangeEvent, FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{TimeZone, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (k, v) in pairs {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            http::HeaderValue::from_str(v).expect("header value"),
        );
    }
    map
}

pub fn delivery<'a>(headers: &'a http::HeaderMap, body: &'a str) -> Delivery<'a> {
    Delivery {
        headers,
        body: body.as_bytes(),
        received_at: Utc
            .with_ymd_and_hms(2026, 11, 23, 10, 0, 30)
            .single()
            .expect("time"),
    }
}

/// The header value a genuine sender puts in `auth`'s header for `body`.
pub fn sign(auth: Auth, secret: &[u8], body: &str) -> String {
    match auth {
        Auth::Secret { prefix, .. } => {
            format!("{prefix}{}", String::from_utf8_lossy(secret))
        }
        Auth::HmacSha256 { prefix, .. } => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("key");
            mac.update(body.as_bytes());
            format!("{prefix}{}", hex::encode(mac.finalize().into_bytes()))
        }
        Auth::SnsSignature | Auth::Svix => {
            panic!("{auth:?} is signed by the source's own scheme, not with the secret")
        }
    }
}

/// The headers a genuine sender sends for `body`, for a source whose proof is a header.
pub fn proof(source: &dyn Source, secret: &[u8], body: &str) -> http::HeaderMap {
    match source.descriptor().auth {
        auth @ (Auth::Secret { header, .. } | Auth::HmacSha256 { header, .. }) => {
            headers(&[(header, sign(auth, secret, body).as_str())])
        }
        other => panic!("{other:?} has no single proof header"),
    }
}

/// `value` with its last letter or digit changed (a wrong or tampered proof of the same shape).
fn tampered(value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    if let Some(c) = chars.iter_mut().rev().find(|c| c.is_ascii_alphanumeric()) {
        *c = match *c {
            '0' => '1',
            d if d.is_ascii_digit() => '0',
            'a' => 'b',
            'A' => 'B',
            l if l.is_ascii_lowercase() => 'a',
            _ => 'A',
        };
    }
    chars.into_iter().collect()
}

/// Asserts `source` accepts `body` proved with `ours`, and refuses it with no proof, with an
/// empty proof header, with a proof made with `another` integration's secret, with the right
/// proof tampered with, and (where the proof covers the body) with the proof of `other_body`.
pub fn only_the_right_secret_gets_in_by(
    source: &dyn Source,
    (ours, another): (&[u8], &[u8]),
    (body, other_body): (&str, &str),
    prove: &dyn Fn(&[u8], &str) -> http::HeaderMap,
) {
    let name = source.descriptor().name;
    let good = prove(ours, body);
    if let Err(e) = source.verify(&delivery(&good, body), ours) {
        panic!("{name}: the right proof was refused: {e}");
    }
    let mut bad = vec![
        ("no proof", http::HeaderMap::new()),
        ("another integration's secret", prove(another, body)),
    ];
    let mut emptied = good.clone();
    let mut wrong = good.clone();
    for (header, value) in &good {
        let value = value.to_str().expect("a text header");
        emptied.insert(header, http::HeaderValue::from_static(""));
        wrong.insert(
            header,
            http::HeaderValue::from_str(&tampered(value)).expect("header value"),
        );
    }
    bad.push(("empty proof headers", emptied));
    bad.push(("a wrong or tampered proof", wrong));
    let signed = prove(ours, other_body);
    if signed != good {
        bad.push(("the proof of another body", signed));
    }
    for (what, headers) in bad {
        match source.verify(&delivery(&headers, body), ours) {
            Err(Refusal::Unauthorized(message)) => assert!(!message.is_empty()),
            other => panic!("{name}, {what}: expected 401, got {other:?}"),
        }
    }
}

/// [`only_the_right_secret_gets_in_by`] for a source whose proof is its one header.
pub fn only_the_right_secret_gets_in(source: &dyn Source, body: &str, other_body: &str) {
    let prove = |secret: &[u8], body: &str| proof(source, secret, body);
    only_the_right_secret_gets_in_by(
        source,
        (
            b"aurora_wh_5f0c2a9e41d7b3",
            b"aurora_wh_another_integration",
        ),
        (body, other_body),
        &prove,
    );
}

/// For a source signed with `X-Aurora-Signature`: the bare hex (as upstream Aurora's
/// snippets send it) gets in exactly as `sha256=<hex>` does, and nothing else more.
pub fn bare_hex_signatures_get_in_too(source: &dyn Source, body: &str, other_body: &str) {
    assert_eq!(source.descriptor().auth, super::AURORA_SIGNATURE);
    let bare = |secret: &[u8], body: &str| {
        let prefixed = proof(source, secret, body);
        let value = prefixed
            .get("x-aurora-signature")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("sha256="))
            .expect("a sha256= signature")
            .to_owned();
        headers(&[("x-aurora-signature", value.as_str())])
    };
    only_the_right_secret_gets_in_by(
        source,
        (
            b"aurora_wh_5f0c2a9e41d7b3",
            b"aurora_wh_another_integration",
        ),
        (body, other_body),
        &bare,
    );
}

/// Asserts `source` refuses `body` with `secret` under each of the header sets `bad`.
pub fn refused(source: &dyn Source, secret: &[u8], body: &str, bad: &[http::HeaderMap]) {
    for headers in bad {
        match source.verify(&delivery(headers, body), secret) {
            Err(Refusal::Unauthorized(message)) => assert!(!message.is_empty()),
            other => panic!("{headers:?}: expected 401, got {other:?}"),
        }
    }
}

/// Asserts `source` refuses each `(body, code, says)` with 400, `code`, and a message
/// containing `says`; besides these, a body that is not JSON and an empty one always are.
pub fn refuses_malformed_saying<B: AsRef<str>>(
    source: &dyn Source,
    headers: &http::HeaderMap,
    cases: &[(B, &str, &str)],
) {
    let always = [("not json", "invalid_json", ""), ("", "invalid_json", "")];
    let cases = cases.iter().map(|(b, c, s)| (b.as_ref(), *c, *s));
    for (body, code, says) in always.into_iter().chain(cases) {
        match source.parse(&delivery(headers, body)) {
            Err(Refusal::BadRequest { code: got, message }) => {
                assert_eq!(got, code, "{body}: {message}");
                assert!(
                    !message.is_empty() && message.contains(says),
                    "{body}: {message}"
                );
            }
            other => panic!("{body}: expected a refusal, got {other:?}"),
        }
    }
}

/// [`refuses_malformed_saying`] where every message must contain `naming` ("" for any).
pub fn refuses_malformed<B: AsRef<str>>(
    source: &dyn Source,
    headers: &http::HeaderMap,
    naming: &str,
    cases: &[(B, &str)],
) {
    let cases: Vec<(&str, &str, &str)> = cases
        .iter()
        .map(|(b, c)| (b.as_ref(), *c, naming))
        .collect();
    refuses_malformed_saying(source, headers, &cases);
}

/// The one signal `parsed` carries (fails the test unless there is exactly one).
pub fn the_one_signal(parsed: Parsed) -> Signal {
    assert_eq!(parsed.signals.len(), 1, "one signal expected: {parsed:?}");
    parsed.signals.into_iter().next().expect("one signal")
}

/// What `source` reads in `body` delivered with no headers, for a source that sends no delivery
/// id (the gateway hashes the body): exactly one signal.
pub fn one_signal(source: &dyn Source, body: &str) -> Signal {
    let h = headers(&[]);
    let parsed = source.parse(&delivery(&h, body)).expect("parses");
    let name = source.descriptor().title;
    assert_eq!(parsed.delivery_id, None, "{name} sends no delivery id");
    the_one_signal(parsed)
}

/// The alert `signal` fires (fails the test when it is anything else).
pub fn as_firing(signal: Signal) -> FiringAlert {
    match signal {
        Signal::Firing(a) => a,
        other => panic!("firing expected, got {other:?}"),
    }
}

/// The change `signal` records (fails the test when it is anything else).
pub fn as_change(signal: Signal) -> ChangeEvent {
    match signal {
        Signal::Change(c) => c,
        other => panic!("change expected, got {other:?}"),
    }
}

/// Why `signal` is ignored (fails the test when it is anything but ignored).
pub fn as_ignored(signal: Signal) -> String {
    match signal {
        Signal::Ignored { reason } => reason,
        other => panic!("ignored expected, got {other:?}"),
    }
}

/// Asserts `fire(body(level))` fires with `expected` for each `(level, expected)`: how a
/// source's own level or priority names map onto Aurora's severities.
pub fn levels_map_onto(
    levels: &[(&str, Severity)],
    body: impl Fn(&str) -> String,
    fire: impl Fn(&str) -> Signal,
) {
    for (level, expected) in levels {
        let a = as_firing(fire(&body(level)));
        assert_eq!(a.severity, *expected, "{level}");
    }
}

/// For a source proved by `Authorization: Bearer <secret>`: [`only_the_right_secret_gets_in`];
/// `Bearer s3cret` gets in with the secret `s3cret`; and the wrong secret, the bare secret, no
/// header at all, and each of the source's own `near_misses` (one header each: another scheme,
/// a longer secret, its tool's usual header) are refused.
pub fn the_bearer_secret_alone_gets_in(
    source: &dyn Source,
    (body, other_body): (&str, &str),
    near_misses: &[(&str, &str)],
) {
    assert_eq!(source.descriptor().auth, BEARER_SECRET);
    only_the_right_secret_gets_in(source, body, other_body);
    let good = headers(&[("authorization", "Bearer s3cret")]);
    assert!(source.verify(&delivery(&good, body), b"s3cret").is_ok());
    let mut bad = vec![
        headers(&[("authorization", "Bearer wrong")]),
        headers(&[("authorization", "s3cret")]),
        headers(&[]),
    ];
    bad.extend(near_misses.iter().map(|miss| headers(&[*miss])));
    refused(source, b"s3cret", body, &bad);
}

/// The signal that the problem `fingerprint` is over, the source calling it `source_alert_id`,
/// at `at` (RFC 3339).
pub fn resolved(fingerprint: &str, source_alert_id: &str, at: &str) -> Signal {
    Signal::Resolved {
        fingerprint: fingerprint.to_owned(),
        source_alert_id: source_alert_id.to_owned(),
        at: chrono::DateTime::parse_from_rfc3339(at)
            .expect("an RFC 3339 time")
            .with_timezone(&Utc),
    }
}
