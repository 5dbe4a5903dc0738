//! The shared reading of gcloud, az, scw and ovh commands.

use super::assessment::{shown, Assessment, Kind};
use super::flags::{FlagSpec, Parsed, HELP_FLAGS};

// ----------------------------------------------------------------------------------------------
// gcloud, az, scw, ovh: `BINARY GROUP [SUBGROUP…] VERB [ARGS] [flags]`
//
// These CLIs have thousands of command groups, so the verb is the first word after the
// top-level group that is a known verb: exact words (`list`, `delete`), or the first part of a
// hyphenated verb (`list-instances`, `delete-access-config`, `add-iam-policy-binding`).
// Destructive words are checked before read-only ones, and a group name that looks like a verb
// is listed per CLI as "not a verb". An exact destructive word later in the command (`az lock
// delete` if `lock` were read as the verb) still makes it destructive.
// ----------------------------------------------------------------------------------------------

/// Verbs that delete, shared by the four CLIs (and by kubectl/tailscale subcommands). `reinstall`
/// and `reimage` wipe a machine's disks; `release` gives an address up; `revoke` withdraws
/// access.
pub(super) const DESTRUCTIVE_WORDS: &[&str] = &[
    "delete",
    "remove",
    "rm",
    "destroy",
    "terminate",
    "drop",
    "truncate",
    "purge",
    "wipe",
    "erase",
    "reinstall",
    "reimage",
    "release",
    "revoke",
    "deregister",
    "decommission",
];
/// Leading words that qualify a verb: `bulk-delete`, `batch-delete-images`, `force-delete`.
pub(super) const VERB_QUALIFIERS: &[&str] =
    &["batch", "bulk", "force", "hard", "permanently", "mass"];
pub(super) const READ_WORDS: &[&str] = &[
    "list", "describe", "get", "show", "read", "tail", "view", "search", "query", "lookup",
    "exists", "wait", "status", "info", "ls", "logs", "inspect",
];
pub(super) const READ_PREFIXES: &[&str] = &[
    "list-",
    "get-",
    "describe-",
    "show-",
    "search-",
    "lookup-",
    "tail-",
];
/// Verbs (or first parts of hyphenated verbs) that change something.
pub(super) const CHANGE_WORDS: &[&str] = &[
    "create",
    "update",
    "patch",
    "set",
    "unset",
    "add",
    "apply",
    "replace",
    "edit",
    "modify",
    "put",
    "post",
    "start",
    "stop",
    "restart",
    "reboot",
    "reset",
    "resize",
    "resume",
    "suspend",
    "pause",
    "unpause",
    "shelve",
    "unshelve",
    "standby",
    "run",
    "execute",
    "invoke",
    "call",
    "trigger",
    "submit",
    "send",
    "publish",
    "deploy",
    "redeploy",
    "undeploy",
    "import",
    "export",
    "upload",
    "download",
    "cp",
    "mv",
    "copy",
    "move",
    "rename",
    "clone",
    "duplicate",
    "sync",
    "rsync",
    "attach",
    "detach",
    "enable",
    "disable",
    "activate",
    "deactivate",
    "login",
    "logout",
    "init",
    "install",
    "uninstall",
    "upgrade",
    "downgrade",
    "rollback",
    "restore",
    "backup",
    "snapshot",
    "migrate",
    "promote",
    "failover",
    "switchover",
    "approve",
    "reject",
    "accept",
    "refuse",
    "decline",
    "cancel",
    "abort",
    "recreate",
    "rotate",
    "regenerate",
    "renew",
    "generate",
    "assign",
    "unassign",
    "grant",
    "bind",
    "unbind",
    "link",
    "unlink",
    "connect",
    "disconnect",
    "scale",
    "swap",
    "deallocate",
    "generalize",
    "capture",
    "open",
    "close",
    "lock",
    "unlock",
    "protect",
    "unprotect",
    "tag",
    "untag",
    "label",
    "unlabel",
    "mount",
    "unmount",
    "ack",
    "pull",
    "seek",
    "encrypt",
    "decrypt",
    "sign",
    "order",
    "buy",
    "purchase",
    "subscribe",
    "unsubscribe",
    "transfer",
    "trade",
    "register",
    "unregister",
    "refresh",
    "repair",
    "expose",
    "upsize",
    "serve",
    "proxy",
    "reschedule",
    "retry",
    "change",
    "invite",
    "leave",
    "prepare",
    "plan",
    "exit",
    "confirm",
    "configure",
];

/// How to find the verb of one CLI.
pub(super) struct Vocabulary {
    pub(super) binary: &'static str,
    pub(super) flags: FlagSpec,
    /// Words that may come first and are skipped (gcloud's release tracks).
    pub(super) release_tracks: &'static [&'static str],
    /// Commands directly under the binary (`gcloud version`, `az login`).
    pub(super) top_level: &'static [(&'static str, Kind)],
    /// Verbs whose kind differs from the shared tables, checked first.
    pub(super) verbs: &'static [(&'static str, Kind)],
    /// Group names that look like verbs.
    pub(super) not_verbs: &'static [&'static str],
    /// Consecutive words of the command path with a kind of their own (`keys list`: secret).
    pub(super) paths: &'static [(&'static str, Kind)],
}

/// `list`, `delete-instances`: lowercase letters, digits and hyphens.
pub(super) fn is_command_word(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_lowercase())
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `delete`, `delete-instances`, `bulk-delete`, `batch-delete-images`.
pub(super) fn is_destructive_word(word: &str) -> bool {
    word.split('-')
        .find(|part| !VERB_QUALIFIERS.contains(part))
        .is_some_and(|part| DESTRUCTIVE_WORDS.contains(&part))
}

pub(super) fn lookup(table: &[(&str, Kind)], word: &str) -> Option<Kind> {
    table
        .iter()
        .find(|(name, _)| *name == word)
        .map(|&(_, kind)| kind)
}

/// The kind of `word` if it is a verb.
pub(super) fn verb_kind(vocabulary: &Vocabulary, word: &str) -> Option<Kind> {
    if !is_command_word(word) || vocabulary.not_verbs.contains(&word) {
        return None;
    }
    if let Some(kind) = lookup(vocabulary.verbs, word) {
        return Some(kind);
    }
    let first_part = word.split('-').next().unwrap_or(word);
    if is_destructive_word(word) {
        Some(Kind::Deletes)
    } else if READ_WORDS.contains(&word) || READ_PREFIXES.iter().any(|p| word.starts_with(p)) {
        Some(Kind::Reads)
    } else if CHANGE_WORDS.contains(&first_part) {
        Some(Kind::Changes)
    } else {
        None
    }
}

/// Whether `pattern` (space-separated words) occurs as consecutive words of `path`.
pub(super) fn has_subpath(path: &[&str], pattern: &str) -> bool {
    let pattern: Vec<&str> = pattern.split(' ').collect();
    path.windows(pattern.len()).any(|window| window == pattern)
}

pub(super) fn assess_by_vocabulary(vocabulary: &Vocabulary, parsed: &Parsed<'_>) -> Assessment {
    let binary = vocabulary.binary;
    let words = parsed.words();
    if words.is_empty() {
        return Assessment::bare(binary, parsed);
    }
    if parsed.help_flag(HELP_FLAGS).is_some() {
        let command_words = words.iter().take_while(|w| is_command_word(w)).count();
        return Assessment::new(Kind::Help, shown(binary, &words[..command_words.min(4)]));
    }
    let start = match words.first() {
        Some(track) if words.len() > 1 && vocabulary.release_tracks.contains(track) => 1,
        _ => 0,
    };
    let found = match lookup(vocabulary.top_level, words[start]) {
        Some(kind) => Some((start, kind)),
        None => (start + 1..words.len())
            .find_map(|at| verb_kind(vocabulary, words[at]).map(|kind| (at, kind))),
    };
    let (mut assessment, after) = match found {
        Some((_, Kind::Help)) => {
            return Assessment::new(Kind::Help, shown(binary, &words[..=start]));
        }
        Some((verb_at, kind)) => {
            let path = &words[..=verb_at];
            let mut assessment = Assessment::new(kind, shown(binary, path));
            for &(pattern, kind) in vocabulary.paths {
                if has_subpath(path, pattern) {
                    assessment.raise(kind);
                }
            }
            (assessment, verb_at + 1)
        }
        None => {
            let command_words = words.iter().take_while(|w| is_command_word(w)).count();
            let command = shown(binary, &words[..command_words.min(4)]);
            (Assessment::new(Kind::Unknown, command), start)
        }
    };
    // A destructive word after the verb (or taken as the value of a flag the gate does not
    // know) may be the real verb behind a group that looked like one.
    let later_delete = words[after..]
        .iter()
        .copied()
        .chain(parsed.guessed_values())
        .find(|word| DESTRUCTIVE_WORDS.contains(word));
    if let Some(word) = later_delete {
        if assessment.raise(Kind::Deletes) {
            assessment.command = format!("{} … {word}", assessment.command);
        }
    }
    assessment
}
