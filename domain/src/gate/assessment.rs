//! Step 5's common part: what a command does ([`Kind`]) and why ([`Assessment`]), the words
//! every CLI's vocabulary answers in. The dispatch to those vocabularies is in `dispatch`.

use super::flags::Parsed;
use super::Class;

// ----------------------------------------------------------------------------------------------
// Step 5: what a command does
// ----------------------------------------------------------------------------------------------

/// Why a command has its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Reads,
    Help,
    /// Reads credentials or secret values: mutating, so ask mode and background runs refuse it.
    Secret,
    Changes,
    /// A verb not in the CLI's vocabulary: nobody can say what it does, so ask mode and
    /// background runs refuse it and agent mode asks (fail closed).
    Unknown,
    Deletes,
    /// Runs arbitrary commands remotely: destructive, since nobody can tell what it will do.
    Executes,
    /// A `--force`-like flag.
    Forced,
    /// A verb kubectl does not know runs the plugin `kubectl-<verb>` from `PATH` if there is
    /// one: any program at all, so it is treated like `kubectl exec`.
    Plugin,
}

impl Kind {
    pub(super) fn class(self) -> Class {
        match self {
            Kind::Reads | Kind::Help => Class::ReadOnly,
            Kind::Secret | Kind::Changes => Class::Mutating,
            Kind::Unknown => Class::Unknown,
            Kind::Deletes | Kind::Executes | Kind::Forced | Kind::Plugin => Class::Destructive,
        }
    }
}

pub(super) fn rank(class: Class) -> u8 {
    match class {
        Class::ReadOnly => 0,
        Class::Mutating => 1,
        Class::Unknown => 2,
        Class::Destructive => 3,
    }
}

/// A command's class, why, and the command as shown in the reason (`aws s3 rm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Assessment {
    pub(super) kind: Kind,
    pub(super) command: String,
    /// The flag behind [`Kind::Forced`].
    pub(super) flag: Option<String>,
}

impl Assessment {
    pub(super) fn new(kind: Kind, command: String) -> Self {
        Self {
            kind,
            command,
            flag: None,
        }
    }

    /// The binary with no command word: every one of these CLIs then prints its usage and runs
    /// nothing. Unless a flag the gate does not know took the next word, which may be the
    /// command (`gcloud --mystery compute …`): then nobody can say, so it is unknown.
    pub(super) fn bare(binary: &str, parsed: &Parsed<'_>) -> Self {
        match parsed.flags.iter().find(|f| f.guessed) {
            Some(flag) => {
                let value = flag.value.unwrap_or_default();
                Self::new(Kind::Unknown, format!("{binary} {} {value}", flag.name))
            }
            None => Self::new(Kind::Help, binary.into()),
        }
    }

    /// Moves to `kind` if that makes the class worse; never better. Returns whether it moved.
    pub(super) fn raise(&mut self, kind: Kind) -> bool {
        let worse = rank(kind.class()) > rank(self.kind.class());
        if worse {
            self.kind = kind;
        }
        worse
    }

    pub(super) fn describe(&self) -> String {
        let command = &self.command;
        match self.kind {
            Kind::Reads => format!("`{command}` only reads"),
            Kind::Help => format!("`{command}` only prints help or usage"),
            Kind::Secret => format!("`{command}` reveals credentials or secret values"),
            Kind::Changes => format!("`{command}` changes resources"),
            Kind::Unknown => format!(
                "`{command}` is not a command the gate knows (not in its vocabulary for {})",
                command.split(' ').next().unwrap_or(command)
            ),
            Kind::Deletes => format!("`{command}` deletes"),
            Kind::Executes => format!("`{command}` runs arbitrary commands remotely"),
            Kind::Plugin => {
                format!(
                "`{command}` is not a kubectl command, so kubectl runs the plugin `kubectl-{}` \
                 from PATH, which can do anything (treated like `kubectl exec`)",
                command.split(' ').nth(1).unwrap_or_default().replace('-', "_")
            )
            }
            Kind::Forced => format!(
                "`{command}` uses `{}`",
                self.flag.as_deref().unwrap_or("--force")
            ),
        }
    }
}

/// `binary word word…`, for reasons.
pub(super) fn shown(binary: &str, words: &[&str]) -> String {
    std::iter::once(binary)
        .chain(words.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}
