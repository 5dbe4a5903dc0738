//! The data of Kubernetes Secrets (`kubectl get secret -o yaml|json`): every value under
//! `data:` / `stringData:` is a secret (base64 is an encoding, not a protection), whatever it
//! looks like, so no pattern could find them all. Only text that holds a Secret is touched.

use std::sync::LazyLock;

use regex::Regex;

use super::placeholder;

const RULE: &str = "kubernetes-secret";

static YAML_SECRET: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t-]*kind:[ \t]*Secret[ \t]*$").ok());
static JSON_SECRET: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#""kind"\s*:\s*"Secret""#).ok());
static JSON_DATA: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"(?s)("(?:data|stringData)"\s*:\s*\{)([^{}]*)(\})"#).ok());
static JSON_VALUE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"("(?:[^"\\]|\\.)*"\s*:\s*)"(?:[^"\\]|\\.)*""#).ok());

/// `text` with the values of every Secret's data redacted (the keys stay: they say what the
/// Secret holds, which the agent may need).
pub(super) fn redact_secret_data(text: &str) -> String {
    let (Some(yaml), Some(json), Some(data), Some(value)) = (
        YAML_SECRET.as_ref(),
        JSON_SECRET.as_ref(),
        JSON_DATA.as_ref(),
        JSON_VALUE.as_ref(),
    ) else {
        // Cannot happen with these literals; if it did, say nothing rather than leak.
        return placeholder("redaction-unavailable");
    };
    let mut out = text.to_owned();
    if yaml.is_match(&out) {
        out = redact_yaml_data(&out);
    }
    if json.is_match(&out) {
        let shown = format!("${{1}}\"{}\"", placeholder(RULE));
        out = data
            .replace_all(&out, |caps: &regex::Captures<'_>| {
                format!(
                    "{}{}{}",
                    &caps[1],
                    value.replace_all(&caps[2], shown.as_str()),
                    &caps[3]
                )
            })
            .into_owned();
    }
    out
}

/// Indentation in columns (a list item's `- ` counts as indentation).
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '-']).len()
}

/// Every line under a `data:` or `stringData:` key, down to the next line that is not indented
/// deeper: `key: value` keeps its key, anything else (a block scalar's lines) goes whole.
fn redact_yaml_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut data_indent: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let ending = &line[content.len()..];
        let trimmed = content.trim_start_matches([' ', '-']);
        if let Some(at) = data_indent {
            if trimmed.is_empty() {
                out.push_str(line);
                continue;
            }
            if indent(content) > at {
                let lead = &content[..indent(content)];
                match trimmed.split_once(':') {
                    Some((key, value)) if !value.trim().is_empty() && !key.contains(' ') => {
                        out.push_str(&format!("{lead}{key}: {}{ending}", placeholder(RULE)));
                    }
                    Some((key, _)) if !key.contains(' ') => out.push_str(line),
                    _ => out.push_str(&format!("{lead}{}{ending}", placeholder(RULE))),
                }
                continue;
            }
            data_indent = None;
        }
        if matches!(trimmed.trim_end(), "data:" | "stringData:") {
            data_indent = Some(indent(content));
        }
        out.push_str(line);
    }
    out
}
