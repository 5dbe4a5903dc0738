//! Steps 3 and 4: a tenant's allow and deny patterns.
//!
//! A pattern that the `regex` crate compiles runs on it (linear time, no limit needed). One it
//! refuses only because of look-around or backreferences — upstream's templates are written for
//! Python's `re` and use look-behind — runs on `fancy-regex`, which backtracks: its matches are
//! bounded by [`MAX_BACKTRACK_STEPS`], and a match that runs out of steps counts against the
//! command (a deny rule refuses it, an allow rule does not admit it) rather than hanging the run.

/// The most patterns a policy list may hold.
pub const MAX_POLICY_PATTERNS: usize = 200;
/// The longest policy pattern, in bytes.
pub const MAX_POLICY_PATTERN_LEN: usize = 1_000;
/// The most memory one compiled policy pattern may take.
pub(super) const MAX_COMPILED_PATTERN_BYTES: usize = 1 << 20;
/// The most backtracking steps one look-around match may take (about a millisecond or two here;
/// fancy-regex's own default is ten times as many).
pub const MAX_BACKTRACK_STEPS: usize = 100_000;

/// One compiled pattern.
#[derive(Debug, Clone)]
enum Rule {
    Plain(regex::Regex),
    LookAround(fancy_regex::Regex),
}

/// What matching one rule against a line found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Yes,
    No,
    /// The backtracking budget ran out before an answer.
    OutOfSteps,
}

impl Rule {
    fn as_str(&self) -> &str {
        match self {
            Rule::Plain(regex) => regex.as_str(),
            Rule::LookAround(regex) => regex.as_str(),
        }
    }

    fn matches(&self, line: &str) -> Match {
        let found = match self {
            Rule::Plain(regex) => Ok(regex.is_match(line)),
            Rule::LookAround(regex) => regex.is_match(line),
        };
        match found {
            Ok(true) => Match::Yes,
            Ok(false) => Match::No,
            Err(_) => Match::OutOfSteps,
        }
    }
}

/// A tenant's allow and deny regexes, matched (unanchored, case-sensitive; use `^…$` and `(?i)`
/// as needed) against the normalised command line: argv joined by single spaces, binary first.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allow: Vec<Rule>,
    deny: Vec<Rule>,
}

#[derive(Debug, thiserror::Error)]
#[error("policy pattern {pattern:?} is not a valid regular expression: {reason}")]
pub struct PolicyError {
    pub pattern: String,
    pub reason: String,
}

/// Why a deny rule refused a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Denial<'a> {
    pub(super) pattern: &'a str,
    /// The rule could not be matched within [`MAX_BACKTRACK_STEPS`]; refused to be safe.
    pub(super) out_of_steps: bool,
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
        self.allow.iter().map(Rule::as_str)
    }

    /// The deny patterns, as given.
    pub fn deny_patterns(&self) -> impl Iterator<Item = &str> + '_ {
        self.deny.iter().map(Rule::as_str)
    }

    /// The first deny pattern matching `line` (or that could not be matched in time).
    pub(super) fn denying(&self, line: &str) -> Option<Denial<'_>> {
        self.deny.iter().find_map(|rule| match rule.matches(line) {
            Match::No => None,
            found => Some(Denial {
                pattern: rule.as_str(),
                out_of_steps: found == Match::OutOfSteps,
            }),
        })
    }

    /// Whether the allow-list (if there is one) admits `line`.
    pub(super) fn admits(&self, line: &str) -> bool {
        self.allow.is_empty()
            || self
                .allow
                .iter()
                .any(|rule| rule.matches(line) == Match::Yes)
    }
}

fn compile_patterns(patterns: &[String]) -> Result<Vec<Rule>, PolicyError> {
    if let Some(extra) = patterns.get(MAX_POLICY_PATTERNS) {
        return Err(PolicyError {
            pattern: extra.clone(),
            reason: format!("a list may hold at most {MAX_POLICY_PATTERNS} patterns"),
        });
    }
    patterns.iter().map(|p| compile_pattern(p)).collect()
}

fn compile_pattern(pattern: &str) -> Result<Rule, PolicyError> {
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
    let plain = regex::RegexBuilder::new(pattern)
        .size_limit(MAX_COMPILED_PATTERN_BYTES)
        .build();
    match plain {
        Ok(regex) => Ok(Rule::Plain(regex)),
        // Only a pattern `regex` cannot express goes to the backtracking engine; any other error
        // (a syntax error, a pattern too big) is the answer.
        Err(regex::Error::Syntax(_)) if needs_backtracking(pattern) => {
            fancy_regex::RegexBuilder::new(pattern)
                .backtrack_limit(MAX_BACKTRACK_STEPS)
                .delegate_size_limit(MAX_COMPILED_PATTERN_BYTES)
                .build()
                .map(Rule::LookAround)
                .map_err(|e| error(one_line(&e.to_string())))
        }
        Err(e) => Err(error(one_line(&e.to_string()))),
    }
}

/// Whether `pattern` uses look-around or a backreference, which only fancy-regex supports.
fn needs_backtracking(pattern: &str) -> bool {
    ["(?=", "(?!", "(?<=", "(?<!"]
        .iter()
        .any(|construct| pattern.contains(construct))
        || pattern
            .as_bytes()
            .windows(2)
            .any(|pair| pair[0] == b'\\' && pair[1].is_ascii_digit() && pair[1] != b'0')
}

/// The regex crate's multi-line error message on one line.
pub(super) fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn patterns(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn look_behind_rules_compile_and_match_as_python_would() {
        let policy = Policy::new(
            &[],
            &patterns(&[r"(?<!\bkubectl\s)(?<!\boc\s)(?<!\bdocker\s)\b(eval|exec)\b"]),
        )
        .expect("upstream's rule compiles");
        assert!(policy.denying("aws ssm exec something").is_some());
        assert!(policy.denying("kubectl exec api -- id").is_none());
        assert!(policy.denying("kubectl get pods").is_none());
    }

    #[test]
    fn a_pathological_pattern_cannot_hang_a_match() {
        // Exponential backtracking: each `a` doubles the work of a backtracking engine, and the
        // look-behind puts the whole pattern on one.
        let evil = r"^(\w+\s?)+(?<!x)$";
        let policy = Policy::new(&patterns(&[evil]), &patterns(&[evil])).expect("it compiles");
        let line = format!("{}!", "a".repeat(64));
        let started = Instant::now();
        let denial = policy
            .denying(&line)
            .expect("out of steps counts as a match");
        assert!(denial.out_of_steps);
        assert!(!policy.admits(&line), "out of steps admits nothing");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        // A short line still gets a real answer.
        assert!(policy.denying("aaa").is_some_and(|d| !d.out_of_steps));
        assert!(policy.denying("aa!").is_none());
    }

    #[test]
    fn a_syntax_error_is_not_handed_to_the_backtracking_engine() {
        let error = Policy::new(&[], &patterns(&["(unclosed"])).expect_err("refused");
        assert_eq!(error.pattern, "(unclosed");
        let error = Policy::new(&[], &patterns(&["(?<!unclosed"])).expect_err("refused");
        assert_eq!(error.pattern, "(?<!unclosed");
    }
}
