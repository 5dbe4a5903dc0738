//! Redaction of secrets from command output, before the agent (or anyone) sees it.
//!
//! [`Redactor::apply`] replaces, in order:
//!
//! 1. the literal secrets it was given (the tenant's injected credentials, values of injected
//!    variables whose names look secret) with [`REDACTED`];
//! 2. the data of Kubernetes Secrets printed as YAML or JSON ([`kubernetes`]);
//! 3. the common secret formats of [`rules`] — a rule set in the spirit of gitleaks: cloud keys,
//!    vendor tokens, JWTs, private key blocks, passwords in connection strings, and generic
//!    `key=value` / `KEY: value` assignments whose name says secret (with an entropy check where
//!    the name alone could be innocent) — each with `[REDACTED:<rule>]`, so a reader knows what
//!    was there.
//!
//! It never fails open silently. The scan is bounded by [`MAX_SCAN_BYTES`]: text past it is not
//! returned unscanned but withheld with a notice saying so, and if the rules could not be
//! compiled the whole text is withheld.

mod kubernetes;
mod rules;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

/// Replacement for a literal secret (one Aurora knows, not found by a rule).
pub const REDACTED: &str = "[REDACTED]";

/// Literal secrets shorter than this (in characters) are not redacted: they would
/// mangle ordinary output and carry no meaningful secrecy.
pub const MIN_SECRET_LEN: usize = 4;

/// The most text one call scans: 4 MiB, four times what a command may return (`exec` checks
/// its output cap against it), so command output is always scanned whole.
pub const MAX_SCAN_BYTES: usize = 4 * 1024 * 1024;

/// What replaces text that was not scanned.
pub const UNSCANNED: &str = "[REDACTED:unscanned]";

/// `[REDACTED:<rule>]`.
fn placeholder(rule: &str) -> String {
    format!("[REDACTED:{rule}]")
}

/// Redacts `secrets` (literal values; empty or shorter than [`MIN_SECRET_LEN`] ignored) and
/// the secret formats of [`rules`] from `text` (see the module documentation).
pub fn redact(text: &str, secrets: &[String]) -> String {
    Redactor::new(secrets).apply(text)
}

/// Literal secrets (longest first) plus the shared rules.
pub struct Redactor {
    literals: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: &[String]) -> Self {
        let mut literals: Vec<String> = Vec::new();
        for secret in secrets {
            // Secret-store values often carry a trailing newline the output won't have.
            for candidate in [secret.as_str(), secret.trim()] {
                if candidate.chars().count() >= MIN_SECRET_LEN
                    && !literals.iter().any(|known| known == candidate)
                {
                    literals.push(candidate.to_owned());
                }
            }
        }
        // Longest first, so a secret containing another is redacted whole.
        literals.sort_by_key(|literal| std::cmp::Reverse(literal.len()));
        Self { literals }
    }

    /// `text` with every secret found replaced, scanning at most [`MAX_SCAN_BYTES`].
    pub fn apply(&self, text: &str) -> String {
        self.apply_within(text, MAX_SCAN_BYTES)
    }

    /// `text` with every secret found replaced, scanning at most `limit` bytes.
    pub(crate) fn apply_within(&self, text: &str, limit: usize) -> String {
        if text.len() <= limit {
            return self.scan(text);
        }
        // Scan up to the last line break within the limit; withhold the rest, saying so.
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let end = text[..end].rfind('\n').map_or(end, |at| at + 1);
        let withheld = text.len() - end;
        let mut out = self.scan(&text[..end]);
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!(
            "{UNSCANNED} {withheld} more bytes withheld: past the redaction scan limit of {limit} bytes\n"
        ));
        out
    }

    fn scan(&self, text: &str) -> String {
        self.scan_with(text, rules::apply)
    }

    /// [`Redactor::scan`] with `rules` for the rule set's pass (`None`: the rules unavailable).
    fn scan_with(&self, text: &str, rules: impl Fn(&str) -> Option<String>) -> String {
        let mut out = Cow::Borrowed(text);
        for literal in &self.literals {
            if out.contains(literal.as_str()) {
                out = Cow::Owned(out.replace(literal.as_str(), REDACTED));
            }
        }
        let out = kubernetes::redact_secret_data(&out);
        match rules(&out) {
            Some(redacted) => redacted,
            // Never fail open: without the rules nothing can be said to be safe.
            None => placeholder("redaction-unavailable"),
        }
    }

    /// Removes a trailing fragment (2 characters or more) of a literal secret that was
    /// cut off at the end of `text`.
    pub fn strip_partial_secret_suffix(&self, text: &mut String) {
        let longest_fragment = self
            .literals
            .iter()
            .flat_map(|secret| {
                secret
                    .char_indices()
                    .map(|(at, _)| at)
                    .filter(|&at| at > 0 && secret[..at].chars().count() >= 2)
                    .filter(|&at| text.ends_with(&secret[..at]))
                    .max()
            })
            .max();
        if let Some(len) = longest_fragment {
            text.truncate(text.len() - len);
        }
    }
}
