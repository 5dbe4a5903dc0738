//! The secret formats found by pattern, one named rule each (the name goes in the placeholder).
//!
//! Each pattern may capture `pre` and `post` (kept: the key of `key=value`, the `user:` and `@`
//! of a connection string) and `s` (the secret; without it, everything between `pre` and
//! `post`). Rules run in order, so the specific ones (a GitHub token) name what they found before
//! the generic assignment rule sees it; a placeholder never matches a later rule.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::placeholder;

#[derive(Clone, Copy)]
struct Rule {
    id: &'static str,
    pattern: &'static str,
    /// The placeholder stands inside quotes (a JSON string value that may have lost its
    /// closing quote to truncation).
    quoted: bool,
    /// A secret with less Shannon entropy (bits per character) than this is left alone: for
    /// names that are secret only if their value looks random.
    min_entropy: Option<f64>,
}

const fn rule(id: &'static str, pattern: &'static str) -> Rule {
    Rule {
        id,
        pattern,
        quoted: false,
        min_entropy: None,
    }
}

/// Names whose values are secrets whatever they look like.
const SECRET_NAMES: &str = r"password|passwd|passphrase|secret|client_?secret|secret_?key";
/// Names whose values are secrets only if they look random (entropy check).
const KEYISH_NAMES: &str =
    r"token|api_?key|apikey|access_?key|private_?key|auth_?key|credentials?|signing_?key";
/// Names ending like a secret that are not: pagination and sync cursors.
const CURSOR_NAMES: &[&str] = &[
    "nexttoken",
    "next_token",
    "pagetoken",
    "page_token",
    "nextpagetoken",
    "next_page_token",
    "continuationtoken",
    "continuation_token",
    "synctoken",
    "sync_token",
    "resumetoken",
];

const RULES: &[Rule] = &[
    // JSON string values of credential fields (a GCP service-account key's private_key among
    // them): keep the key. The closing quote is optional so a value cut off is still covered.
    Rule {
        id: "credential-field",
        pattern: r#"(?i)(?P<pre>"(?:private_?key|client_?secret|password|passwd|token|access_?token|refresh_?token|id_?token|session_?token|secret|secret_?string|api_?key)"\s*:\s*)"(?:[^"\\]|\\.)+"?"#,
        quoted: true,
        min_entropy: None,
    },
    // PEM private key blocks; an unterminated block (output cut) is redacted to the end.
    rule(
        "private-key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
    ),
    // AWS secret access keys and session tokens: credentials files, env dumps, YAML, JSON and
    // `--output table`.
    rule(
        "aws-secret-key",
        r#"(?i)(?P<pre>(?:aws_)?(?:secret_?access_?key|session_?token)["']?[ \t]*[:=|][ \t]*["']?)[A-Za-z0-9/+=]{16,}"#,
    ),
    rule(
        "aws-access-key",
        r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA)[A-Z0-9]{16}(?-u:\b)",
    ),
    // Azure: storage account keys and SAS signatures in connection strings, AD client secrets.
    rule(
        "azure-storage-key",
        r"(?i)(?P<pre>AccountKey=)[A-Za-z0-9+/]{40,}={0,2}",
    ),
    rule(
        "azure-sas-signature",
        r"(?P<pre>[?&;]sig=)[A-Za-z0-9%+/=]{20,}",
    ),
    rule(
        "azure-client-secret",
        r"(?-u:\b)[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}(?-u:\b)",
    ),
    rule("gcp-api-key", r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}"),
    rule("google-oauth-token", r"(?-u:\b)ya29\.[0-9A-Za-z\-_]+"),
    rule(
        "github-token",
        r"(?-u:\b)(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}",
    ),
    rule("github-token", r"(?-u:\b)github_pat_[A-Za-z0-9_]{20,}"),
    rule("slack-token", r"(?-u:\b)xox[abposre]-[0-9A-Za-z\-]{10,}"),
    rule(
        "slack-webhook",
        r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}",
    ),
    // Anthropic before OpenAI: both start with `sk-`.
    rule("anthropic-api-key", r"(?-u:\b)sk-ant-[A-Za-z0-9_\-]{20,}"),
    rule(
        "openai-api-key",
        r"(?-u:\b)sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}|[A-Za-z0-9]{32,})",
    ),
    rule(
        "stripe-key",
        r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
    ),
    // Bearer tokens (covers `Authorization: Bearer …`), before bare JWTs so the header reads
    // as what it is.
    rule(
        "bearer-token",
        r"(?i)(?-u:\b)(?P<pre>bearer[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*",
    ),
    rule(
        "basic-auth",
        r"(?i)(?P<pre>authorization[ \t]*:[ \t]*basic[ \t]+)[A-Za-z0-9+/]{4,}=*",
    ),
    rule(
        "jwt",
        r"(?-u:\b)eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    ),
    // `postgres://user:pass@host`, `redis://:pass@host`: the password only.
    rule(
        "connection-string-password",
        r#"(?i)(?P<pre>(?-u:\b)[a-z][a-z0-9+.\-]*://[^:/\s@"'\[]*:)(?P<s>[^@\s/"'\[]+)(?P<post>@)"#,
    ),
];

/// Generic assignments: `OPENAI_API_KEY=…`, `password: …`, `"db_password" = "…"`, `--token …`
/// is not (no separator). Built from the name lists, so kept apart from [`RULES`].
fn assignment_rules() -> [Rule; 2] {
    let value = r#"["']?[ \t]*[=:][ \t]*["']?)(?P<s>[^\s"',;\[\]{}]{4,})"#;
    [
        Rule {
            id: "secret-assignment",
            pattern: leak(format!(
                r"(?i)(?P<pre>(?-u:\b)[a-z0-9_.\-]*(?:{SECRET_NAMES}){value}"
            )),
            quoted: false,
            min_entropy: None,
        },
        Rule {
            id: "generic-secret",
            pattern: leak(format!(
                r"(?i)(?P<pre>(?-u:\b)[a-z0-9_.\-]*(?:{KEYISH_NAMES}){value}"
            )),
            quoted: false,
            min_entropy: Some(3.0),
        },
    ]
}

/// The assignment patterns live as long as the process (they are compiled once).
fn leak(pattern: String) -> &'static str {
    Box::leak(pattern.into_boxed_str())
}

struct Compiled {
    rule: Rule,
    regex: Regex,
}

/// Every rule compiled, or `None` if any does not compile (then nothing is returned unscanned).
static COMPILED: LazyLock<Option<Vec<Compiled>>> =
    LazyLock::new(|| compile(RULES.iter().copied().chain(assignment_rules())));

fn compile(rules: impl Iterator<Item = Rule>) -> Option<Vec<Compiled>> {
    rules
        .map(|rule| match Regex::new(rule.pattern) {
            Ok(regex) => Some(Compiled { rule, regex }),
            Err(error) => {
                tracing::error!(rule = rule.id, %error, "a redaction rule does not compile");
                None
            }
        })
        .collect()
}

/// The number of rules that compiled (all of them, or the scan refuses to run).
#[cfg(test)]
pub(super) fn compiled_rules() -> Option<usize> {
    COMPILED.as_ref().map(Vec::len)
}

/// `text` with every rule applied, or `None` if the rules are unavailable.
pub(super) fn apply(text: &str) -> Option<String> {
    apply_compiled(COMPILED.as_deref(), text)
}

fn apply_compiled(compiled: Option<&[Compiled]>, text: &str) -> Option<String> {
    let compiled = compiled?;
    let mut out = text.to_owned();
    for Compiled { rule, regex } in compiled {
        if !regex.is_match(&out) {
            continue;
        }
        out = regex
            .replace_all(&out, |caps: &Captures<'_>| replace(rule, caps))
            .into_owned();
    }
    Some(out)
}

fn replace(rule: &Rule, caps: &Captures<'_>) -> String {
    let whole = caps.get(0).map_or("", |m| m.as_str());
    let pre = caps.name("pre").map_or("", |m| m.as_str());
    let post = caps.name("post").map_or("", |m| m.as_str());
    let secret = caps.name("s").map_or_else(
        || &whole[pre.len()..whole.len() - post.len()],
        |m| m.as_str(),
    );
    let looks_random = rule
        .min_entropy
        .is_none_or(|min| shannon_entropy(secret) >= min);
    let is_cursor = {
        let name = pre
            .trim_start_matches(['"', '\''])
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        CURSOR_NAMES.contains(&name.as_str())
    };
    // Already a placeholder (literal secrets and Kubernetes data are redacted first).
    let redacted = secret
        .trim_start_matches(['"', '\''])
        .starts_with("[REDACTED");
    if !looks_random || is_cursor || redacted || secret.is_empty() {
        return whole.to_owned();
    }
    let shown = placeholder(rule.id);
    if rule.quoted {
        format!("{pre}\"{shown}\"{post}")
    } else {
        format!("{pre}{shown}{post}")
    }
}

/// Bits per character of `text`'s character distribution.
fn shannon_entropy(text: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut total = 0usize;
    for c in text.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::shannon_entropy;

    #[test]
    fn entropy_tells_random_from_plain() {
        assert!(shannon_entropy("aaaaaaaa") < 0.1);
        assert!(shannon_entropy("3600") < 3.0);
        assert!(shannon_entropy("8f3a9c2e7b1d4f6a0c5e") > 3.0);
    }
}

#[cfg(test)]
mod failing {
    use super::*;

    #[test]
    fn one_rule_that_does_not_compile_leaves_no_rules_and_nothing_is_scanned() {
        let broken = [
            rule("aws-access-key", r"AKIA[0-9A-Z]{16}"),
            rule("broken", "("),
        ];
        let compiled = compile(broken.into_iter());
        assert!(compiled.is_none(), "a set missing a rule is not used");
        assert_eq!(
            apply_compiled(compiled.as_deref(), "password=hunter22"),
            None
        );
        let whole = compile(broken[..1].iter().copied()).expect("compiles");
        assert_eq!(
            apply_compiled(Some(&whole), "id AKIAABCDEFGHIJKLMNOP").as_deref(),
            Some("id [REDACTED:aws-access-key]")
        );
    }
}
