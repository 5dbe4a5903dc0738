//! Step 1: the characters a shell would act on, where a shell would see them.
//!
//! Commands run without a shell, so a metacharacter a shell would act on could only be an
//! attempt to chain, redirect or substitute: it is refused. Inside quotes a shell takes most of
//! them literally (`--filter-pattern "ERROR;timeout"` is one argument holding a `;`), so there
//! they are harmless and allowed; the line is then split with the same quoting rules
//! (`shell-words`). `$` and the backtick still expand inside double quotes, so they are refused
//! there too; only single quotes make them literal.

/// Characters a shell acts on outside quotes.
pub(super) const SHELL_METACHARACTERS: [char; 9] = [';', '&', '|', '>', '<', '`', '$', '\n', '\r'];

/// Characters a shell still acts on inside double quotes.
const EXPANDED_IN_DOUBLE_QUOTES: [char; 2] = ['`', '$'];

/// Where the scan is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    None,
    Single,
    Double,
}

/// The first character of `command` a shell would act on, if any. Control characters (other
/// than a tab) are refused wherever they are: nothing legitimate needs them, and a newline
/// ends a command for a shell even where a later reader would not expect it.
pub(super) fn first_active_character(command: &str) -> Option<char> {
    let mut quoting = Quoting::None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        if c.is_control() && c != '\t' {
            return Some(c);
        }
        match (quoting, c) {
            (Quoting::None, '\'') => quoting = Quoting::Single,
            (Quoting::None, '"') => quoting = Quoting::Double,
            (Quoting::Single, '\'') | (Quoting::Double, '"') => quoting = Quoting::None,
            (Quoting::None | Quoting::Double, '\\') => {
                // An escaped character is literal; a control character stays refused.
                match chars.next() {
                    Some(next) if next.is_control() && next != '\t' => return Some(next),
                    _ => {}
                }
            }
            (Quoting::None, c) if SHELL_METACHARACTERS.contains(&c) => return Some(c),
            (Quoting::Double, c) if EXPANDED_IN_DOUBLE_QUOTES.contains(&c) => return Some(c),
            _ => {}
        }
    }
    None
}

/// Why `c` is refused, naming it.
pub(super) fn refused_character(c: char) -> String {
    let shown = match c {
        '\n' => "a newline".to_owned(),
        '\r' => "a carriage return".to_owned(),
        '`' => "a backtick (`)".to_owned(),
        c if SHELL_METACHARACTERS.contains(&c) => format!("`{c}`"),
        c => format!("the control character U+{:04X}", u32::from(c)),
    };
    format!(
        "the command contains {shown} where a shell would act on it; commands run without a \
         shell, so shell metacharacters are refused outside quotes"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_separators_are_literal() {
        for command in [
            r#"aws logs filter-log-events --filter-pattern "ERROR;timeout""#,
            "aws logs filter-log-events --filter-pattern 'a|b&c>d<e'",
            r#"gcloud logging read "severity>=ERROR""#,
            r#"kubectl get pods -l 'app in (a,b)' -o jsonpath='{.items[*].metadata.name}'"#,
            "gcloud compute instances list --filter=name\\;x",
            r"aws s3 ls 'cost: $5'",
        ] {
            assert_eq!(first_active_character(command), None, "{command}");
        }
    }

    #[test]
    fn unquoted_operators_and_expansions_in_double_quotes_are_found() {
        for (command, found) in [
            ("kubectl get pods; rm -rf /", ';'),
            ("kubectl get pods && id", '&'),
            ("aws s3 ls | sh", '|'),
            ("aws s3 ls > /etc/passwd", '>'),
            ("aws s3 ls < /etc/passwd", '<'),
            (r#"aws s3 ls "$(id)""#, '$'),
            (r#"aws s3 ls "`id`""#, '`'),
            ("aws s3 ls $HOME", '$'),
            (r#"aws s3 ls "a";id"#, ';'),
            (r#"aws s3 ls 'a'"b"|id"#, '|'),
            ("aws s3 ls 'a\nb'", '\n'),
            ("aws s3 ls \\\n id", '\n'),
            ("aws s3 ls \"\r\"", '\r'),
        ] {
            assert_eq!(first_active_character(command), Some(found), "{command:?}");
        }
    }
}
