//! The command gate: whether the agent may run a cloud CLI command (SPEC: "the gate").
//!
//! The `cloud_exec` tool (gcloud, aws, az, scw, tailscale, ovh) and the `kubectl` tool hand every
//! command line to [`check`]. It returns a [`GateDecision`] (allow, ask for confirmation, or
//! refuse, with the argv to run and one sentence saying why) and the caller records every
//! decision as an event before anything runs. The argv is executed directly, never through a
//! shell.
//!
//! # Order of checks
//!
//! 1. **Shell metacharacters**, where a shell would see them ([`shell`]). A blank command is
//!    refused, and so is one with `;`, `&`, `|`, `>`, `<`, a backtick or `$` outside quotes, a
//!    backtick or `$` inside double quotes, or a newline, a carriage return or any other control
//!    character anywhere. Quoted separators are one harmless argument (`--filter-pattern
//!    "ERROR;timeout"`). The reason names the character.
//! 2. **Parsing.** The line is split into argv with shell quoting rules (`shell-words`);
//!    unbalanced quotes are refused. A leading binary name (`gcloud`, `/usr/bin/gcloud`) is
//!    dropped; a leading other program (another cloud CLI, `rm`, `bash`, `python`, `curl`, …)
//!    is refused. Programs that are never a CLI's subcommand (shells, compilers, loaders, user,
//!    firewall and namespace tools, …) are refused outright, with what they are, as the first
//!    word or as the first command word after the binary and its global flags (`aws --region r
//!    iptables -F`; also a word a flag the gate does not know took there). `kubectl-<word>` is the plugin `kubectl <word>`.
//!    The decision's argv is always `[binary, args…]`.
//! 3. **Deny policy.** A tenant deny regex that matches the normalised command line (argv
//!    joined by single spaces, binary included) refuses the command. Deny wins over everything.
//! 4. **Allow policy.** If the tenant has an allow-list, a command matching none of its regexes
//!    is refused. Matching it does not bypass step 5.
//! 5. **Class and mode.** [`classify`] reads the CLI's own command structure and says whether
//!    the command is read-only, mutating, unknown (its verb is not in the CLI's vocabulary) or
//!    destructive; then:
//!
//!    | mode       | read-only | mutating | unknown | destructive |
//!    |------------|-----------|----------|---------|-------------|
//!    | ask        | allow     | refuse   | refuse  | refuse      |
//!    | agent      | allow     | allow    | confirm | confirm     |
//!    | background | allow     | refuse   | refuse  | refuse      |
//!
//! # How commands are classified
//!
//! Never by substring: `gcloud compute instances list --filter=name~delete` is read-only.
//! Flags (and the values of flags that take one) are skipped, then the verb is read where each
//! CLI puts it: `kubectl VERB`, `tailscale VERB`, `aws SERVICE OPERATION`, and for gcloud, az,
//! scw and ovh the first word of `GROUP [SUBGROUP…] VERB [ARGS]` that is a known verb.
//!
//! The gate fails closed:
//! - a verb it does not know is unknown, never read-only; a verb kubectl does not know runs a
//!   plugin (`kubectl-<verb>` from `PATH`, whatever it is) and is destructive like `exec`;
//! - a flag it does not know is assumed to take the next word as its value (as cobra does when
//!   it looks for a subcommand), so an unknown flag can hide a verb but never reveal a fake one;
//! - `--force` (or `--force=true`, or another `--force-…` flag) anywhere makes a command
//!   destructive, as do `aws s3 sync --delete`, `gcloud storage rsync
//!   --delete-unmatched-destination-objects` and `kubectl … --prune / --now / --grace-period=0`.
//!   `-f` is never force (it is `--filename` for kubectl, `--format` for ovh);
//! - commands that print credentials (`gcloud auth print-access-token`, `aws secretsmanager
//!   get-secret-value`, `kubectl get secret -o yaml`, `az storage account keys list`, …) only
//!   read, but they are classed mutating so that ask mode and background runs refuse them: the
//!   model should not see secrets unless someone chose agent mode;
//! - commands that run arbitrary code somewhere else (`kubectl exec`, `gcloud compute ssh`,
//!   `aws ssm send-command`, `az vm run-command invoke`, `tailscale ssh`, …) are classed
//!   destructive: what they do cannot be known from the command line, so a human confirms them.
//!
//! `--help` (and `-h`, or a `help` word where the CLI has one) makes a command read-only,
//! except after `--` or where the CLI would hand the flag to something else (a kubectl plugin,
//! the remote command of `tailscale ssh`). Nothing else is read as help: a command that names a
//! service or group but no operation (`aws ec2`, `aws frobnicate`, `gcloud compute instances`,
//! `kubectl rollout`) is a usage error at best and unknown. Only the binary with nothing after
//! it but flags the gate knows prints its usage and is read-only. Words after `--` belong to another program (the
//! command of `kubectl exec`), but a `--` before any command is judged as if it were not there,
//! and never as read-only.

//!
//! # Files
//!
//! [`argv`] splits the line (steps 1–2), [`policy`] holds the tenant's patterns (steps 3–4),
//! [`assessment`] and [`flags`] are what every CLI shares for step 5, and each CLI family has its
//! vocabulary file: [`kubectl`], [`aws`], [`gcloud`], [`az`], [`scw_ovh_tailscale`] (the last
//! three families share [`vocabulary`]); [`dispatch`] hands a command to its CLI's vocabulary.

mod argv;
#[cfg(test)]
mod argv_tests;
mod assessment;
mod aws;
mod az;
#[cfg(test)]
mod classification_table;
mod dispatch;
mod flags;
mod gcloud;
mod kubectl;
mod policy;
mod scw_ovh_tailscale;
#[cfg(test)]
mod security_cases;
mod shell;
mod template;
#[cfg(test)]
mod template_tests;
#[cfg(test)]
mod tests;
mod vocabulary;

use std::fmt;

use serde::{Deserialize, Serialize};

use argv::parse_command;
use assessment::Assessment;
use dispatch::assess;
pub use policy::{
    Policy, PolicyError, MAX_BACKTRACK_STEPS, MAX_POLICY_PATTERNS, MAX_POLICY_PATTERN_LEN,
};
pub use template::{default_deny_patterns, TemplateRule, DEFAULT_DENY_TEMPLATE};

/// A CLI the agent can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cli {
    Gcloud,
    Aws,
    Az,
    Scw,
    Tailscale,
    Ovh,
    Kubectl,
}

impl Cli {
    /// The six providers of the `cloud_exec` tool (kubectl is a tool of its own).
    pub const CLOUD: [Cli; 6] = [
        Cli::Gcloud,
        Cli::Aws,
        Cli::Az,
        Cli::Scw,
        Cli::Tailscale,
        Cli::Ovh,
    ];

    /// Every CLI the gate knows.
    pub const ALL: [Cli; 7] = [
        Cli::Gcloud,
        Cli::Aws,
        Cli::Az,
        Cli::Scw,
        Cli::Tailscale,
        Cli::Ovh,
        Cli::Kubectl,
    ];

    /// The executable's name.
    pub fn binary(self) -> &'static str {
        match self {
            Cli::Gcloud => "gcloud",
            Cli::Aws => "aws",
            Cli::Az => "az",
            Cli::Scw => "scw",
            Cli::Tailscale => "tailscale",
            Cli::Ovh => "ovh",
            Cli::Kubectl => "kubectl",
        }
    }

    /// The `cloud_exec` provider names (case-insensitive). Not kubectl: it is its own tool.
    pub fn from_provider(provider: &str) -> Option<Cli> {
        match provider.trim().to_ascii_lowercase().as_str() {
            "gcloud" | "gcp" => Some(Cli::Gcloud),
            "aws" => Some(Cli::Aws),
            "az" | "azure" => Some(Cli::Az),
            "scw" | "scaleway" => Some(Cli::Scw),
            "tailscale" => Some(Cli::Tailscale),
            "ovh" | "ovhcloud" => Some(Cli::Ovh),
            _ => None,
        }
    }

    /// Whether `name` invokes this CLI: its binary, or `ovhcloud` (the upstream name of `ovh`).
    pub(crate) fn is_invoked_as(self, name: &str) -> bool {
        name == self.binary() || (self == Cli::Ovh && name == "ovhcloud")
    }
}

impl fmt::Display for Cli {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.binary())
    }
}

/// Who is running the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// A person asked in ask mode: read-only commands only.
    Ask,
    /// A person asked in agent mode: changes run, destructive commands are confirmed first.
    Agent,
    /// Nobody is watching (a background investigation): read-only commands only.
    Background,
}

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    ReadOnly,
    Mutating,
    /// Not in the CLI's vocabulary: refused in ask mode and background runs, confirmed in agent
    /// mode.
    Unknown,
    Destructive,
}

/// What the gate decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Confirm,
    Refuse,
}

/// One gate decision; the caller records it as an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateDecision {
    pub verdict: Verdict,
    /// argv to execute, binary first (e.g. ["gcloud","compute","instances","list"]); empty when refused before parsing
    pub argv: Vec<String>,
    pub class: Option<Class>,
    /// one human sentence: why (shown to the user and stored in an event), e.g. "ask mode allows only read-only commands; `aws s3 rm` deletes"
    pub reason: String,
}

impl GateDecision {
    /// The normalised command line the policy was matched against (argv joined by spaces).
    pub fn command_line(&self) -> String {
        self.argv.join(" ")
    }

    pub(crate) fn refused_unparsed(reason: String) -> Self {
        Self {
            verdict: Verdict::Refuse,
            argv: Vec::new(),
            class: None,
            reason,
        }
    }
}

/// What `args` (the command WITHOUT the binary) does. Commands not in the CLI's vocabulary are
/// [`Class::Unknown`]: never read-only by default.
pub fn classify(cli: Cli, args: &[String]) -> Class {
    assess(cli, args).kind.class()
}

/// Runs the gate on one command line (see the module documentation for the order of checks).
pub fn check(cli: Cli, command: &str, mode: RunMode, policy: &Policy) -> GateDecision {
    let argv = match parse_command(cli, command) {
        Ok(argv) => argv,
        Err(reason) => return GateDecision::refused_unparsed(reason),
    };
    let line = argv.join(" ");
    let assessment = assess(cli, &argv[1..]);
    let class = assessment.kind.class();
    let (verdict, reason) = if let Some(denial) = policy.denying(&line) {
        let pattern = denial.pattern;
        let why = match template::describe(pattern) {
            Some(description) => format!(" ({description})"),
            None => String::new(),
        };
        let how = if denial.out_of_steps {
            " could not be matched in time against"
        } else {
            " matches"
        };
        (
            Verdict::Refuse,
            format!(
                "`{}`{how} this organisation's deny pattern `{pattern}`{why}",
                assessment.command
            ),
        )
    } else if !policy.admits(&line) {
        (
            Verdict::Refuse,
            format!(
                "`{}` is not in this organisation's allow-list",
                assessment.command
            ),
        )
    } else {
        mode_verdict(mode, &assessment)
    };
    GateDecision {
        verdict,
        argv,
        class: Some(class),
        reason,
    }
}

/// Step 5: the class against the mode.
fn mode_verdict(mode: RunMode, assessment: &Assessment) -> (Verdict, String) {
    let what = assessment.describe();
    match assessment.kind.class() {
        Class::ReadOnly => (Verdict::Allow, what),
        class => match mode {
            RunMode::Ask => (
                Verdict::Refuse,
                format!("ask mode allows only read-only commands; {what}"),
            ),
            RunMode::Background => (
                Verdict::Refuse,
                format!("background runs allow only read-only commands; {what}"),
            ),
            RunMode::Agent if class == Class::Mutating => {
                (Verdict::Allow, format!("{what}; agent mode allows it"))
            }
            RunMode::Agent => (
                Verdict::Confirm,
                format!("{what}, so it needs explicit confirmation"),
            ),
        },
    }
}
