//! Steps 3 and 4: a tenant's allow and deny patterns.

use regex::{Regex, RegexBuilder};

/// The most patterns a policy list may hold.
pub const MAX_POLICY_PATTERNS: usize = 200;
/// The longest policy pattern, in bytes.
pub const MAX_POLICY_PATTERN_LEN: usize = 1_000;
/// The most memory one compiled policy pattern may take.
pub(super) const MAX_COMPILED_PATTERN_BYTES: usize = 1 << 20;

/// A tenant's allow and deny regexes, matched (unanchored, case-sensitive; use `^…$` and `(?i)`
/// as needed) against the normalised command line: argv joined by single spaces, binary first.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allow: Vec<Regex>,
    deny: Vec<Regex>,
}

#[derive(Debug, thiserror::Error)]
#[error("policy pattern {pattern:?} is not a valid regular expression: {reason}")]
pub struct PolicyError {
    pub pattern: String,
    pub reason: String,
}

impl Policy {
    /// Compiles both lists. Refuses a pattern that does not compile, an empty one (it would
    /// match every command), one longer than [`MAX_POLICY_PATTERN_LEN`], and lists longer than
    /// [`MAX_POLICY_PATTERNS`].
    pub fn new(allow: &[String], deny: &[String]) -> Result<Policy, PolicyError> {
        Ok(Policy {
            allow: compile_patterns(allow)?,
            deny: compile_patterns(deny)?,
        })
    }

    /// The allow patterns, as given.
    pub fn allow_patterns(&self) -> impl Iterator<Item = &str> + '_ {
        self.allow.iter().map(Regex::as_str)
    }

    /// The deny patterns, as given.
    pub fn deny_patterns(&self) -> impl Iterator<Item = &str> + '_ {
        self.deny.iter().map(Regex::as_str)
    }

    /// The first deny pattern matching `line`.
    pub(super) fn denying(&self, line: &str) -> Option<&str> {
        self.deny
            .iter()
            .find(|rule| rule.is_match(line))
            .map(Regex::as_str)
    }

    /// Whether the allow-list (if there is one) admits `line`.
    pub(super) fn admits(&self, line: &str) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|rule| rule.is_match(line))
    }
}

pub(super) fn compile_patterns(patterns: &[String]) -> Result<Vec<Regex>, PolicyError> {
    if let Some(extra) = patterns.get(MAX_POLICY_PATTERNS) {
        return Err(PolicyError {
            pattern: extra.clone(),
            reason: format!("a list may hold at most {MAX_POLICY_PATTERNS} patterns"),
        });
    }
    patterns.iter().map(|p| compile_pattern(p)).collect()
}

pub(super) fn compile_pattern(pattern: &str) -> Result<Regex, PolicyError> {
    let error = |reason: String| PolicyError {
        pattern: pattern.to_owned(),
        reason,
    };
    if pattern.trim().is_empty() {
        return Err(error("an empty pattern would match every command".into()));
    }
    if pattern.len() > MAX_POLICY_PATTERN_LEN {
        return Err(error(format!(
            "it is longer than {MAX_POLICY_PATTERN_LEN} bytes"
        )));
    }
    RegexBuilder::new(pattern)
        .size_limit(MAX_COMPILED_PATTERN_BYTES)
        .build()
        .map_err(|e| error(one_line(&e.to_string())))
}

/// The regex crate's multi-line error message on one line.
pub(super) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
