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
//! 1. **Shell metacharacters.** A blank command is refused, and so is one containing `;`, `&`,
//!    `|`, `>`, `<`, a backtick, `$`, a newline, a carriage return or any other control
//!    character. The reason names the character.
//! 2. **Parsing.** The line is split into argv with shell quoting rules (`shell-words`);
//!    unbalanced quotes are refused. A leading binary name (`gcloud`, `/usr/bin/gcloud`) is
//!    dropped; a leading other program (another cloud CLI, `rm`, `bash`, `python`, `curl`, …)
//!    is refused. The decision's argv is always `[binary, args…]`.
//! 3. **Deny policy.** A tenant deny regex that matches the normalised command line (argv
//!    joined by single spaces, binary included) refuses the command. Deny wins over everything.
//! 4. **Allow policy.** If the tenant has an allow-list, a command matching none of its regexes
//!    is refused. Matching it does not bypass step 5.
//! 5. **Class and mode.** [`classify`] reads the CLI's own command structure and says whether
//!    the command is read-only, mutating or destructive; then:
//!
//!    | mode       | read-only | mutating | destructive |
//!    |------------|-----------|----------|-------------|
//!    | ask        | allow     | refuse   | refuse      |
//!    | agent      | allow     | allow    | confirm     |
//!    | background | allow     | refuse   | refuse      |
//!
//! # How commands are classified
//!
//! Never by substring: `gcloud compute instances list --filter=name~delete` is read-only.
//! Flags (and the values of flags that take one) are skipped, then the verb is read where each
//! CLI puts it: `kubectl VERB`, `tailscale VERB`, `aws SERVICE OPERATION`, and for gcloud, az,
//! scw and ovh the first word of `GROUP [SUBGROUP…] VERB [ARGS]` that is a known verb.
//!
//! The gate fails closed:
//! - a verb it does not know is mutating, never read-only;
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
//! the remote command of `tailscale ssh`). Words after `--` belong to another program (the
//! command of `kubectl exec`), but a `--` before any command is judged as if it were not there,
//! and never as read-only.

use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

// ----------------------------------------------------------------------------------------------
// Public API
// ----------------------------------------------------------------------------------------------

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
    fn is_invoked_as(self, name: &str) -> bool {
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

    fn refused_unparsed(reason: String) -> Self {
        Self {
            verdict: Verdict::Refuse,
            argv: Vec::new(),
            class: None,
            reason,
        }
    }
}

/// The most patterns a policy list may hold.
pub const MAX_POLICY_PATTERNS: usize = 200;
/// The longest policy pattern, in bytes.
pub const MAX_POLICY_PATTERN_LEN: usize = 1_000;
/// The most memory one compiled policy pattern may take.
const MAX_COMPILED_PATTERN_BYTES: usize = 1 << 20;

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
    fn denying(&self, line: &str) -> Option<&str> {
        self.deny
            .iter()
            .find(|rule| rule.is_match(line))
            .map(Regex::as_str)
    }

    /// Whether the allow-list (if there is one) admits `line`.
    fn admits(&self, line: &str) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|rule| rule.is_match(line))
    }
}

fn compile_patterns(patterns: &[String]) -> Result<Vec<Regex>, PolicyError> {
    if let Some(extra) = patterns.get(MAX_POLICY_PATTERNS) {
        return Err(PolicyError {
            pattern: extra.clone(),
            reason: format!("a list may hold at most {MAX_POLICY_PATTERNS} patterns"),
        });
    }
    patterns.iter().map(|p| compile_pattern(p)).collect()
}

fn compile_pattern(pattern: &str) -> Result<Regex, PolicyError> {
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
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What `args` (the command WITHOUT the binary) does. Unknown commands are
/// [`Class::Mutating`]: never read-only by default.
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
    let (verdict, reason) = if let Some(pattern) = policy.denying(&line) {
        (
            Verdict::Refuse,
            format!(
                "`{}` matches this organisation's deny pattern `{pattern}`",
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

// ----------------------------------------------------------------------------------------------
// Steps 1 and 2: the raw line and argv
// ----------------------------------------------------------------------------------------------

/// Characters a shell would act on. Commands run without a shell, so they could only be an
/// attempt to chain, redirect or substitute.
const SHELL_METACHARACTERS: [char; 9] = [';', '&', '|', '>', '<', '`', '$', '\n', '\r'];

/// Programs that are not a cloud CLI, refused as argv[0] (unless the CLI has a command of the
/// same name, like `kubectl cp` or `tailscale ssh`).
const OTHER_PROGRAMS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "fish",
    "csh",
    "tcsh",
    "env",
    "sudo",
    "su",
    "doas",
    "exec",
    "eval",
    "source",
    "xargs",
    "nohup",
    "timeout",
    "watch",
    "time",
    "nice",
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "node",
    "deno",
    "php",
    "lua",
    "pwsh",
    "powershell",
    "curl",
    "wget",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
    "ssh",
    "scp",
    "sftp",
    "rsync",
    "ftp",
    "rm",
    "rmdir",
    "mv",
    "cp",
    "dd",
    "mkfs",
    "shred",
    "chmod",
    "chown",
    "chgrp",
    "ln",
    "tee",
    "cat",
    "less",
    "more",
    "head",
    "tail",
    "echo",
    "printf",
    "sed",
    "awk",
    "gawk",
    "grep",
    "find",
    "touch",
    "mkdir",
    "tar",
    "zip",
    "unzip",
    "gzip",
    "openssl",
    "base64",
    "jq",
    "yq",
    "git",
    "docker",
    "podman",
    "helm",
    "terraform",
    "tofu",
    "pulumi",
    "gsutil",
    "bq",
    "eksctl",
    "oc",
    "kubectx",
    "kubens",
    "make",
    "crontab",
    "systemctl",
    "service",
    "kill",
    "pkill",
    "killall",
    "shutdown",
    "reboot",
];

/// Steps 1 and 2: the argv to run, binary first, or why the line is refused.
fn parse_command(cli: Cli, command: &str) -> Result<Vec<String>, String> {
    if command.trim().is_empty() {
        return Err("the command is empty".into());
    }
    if let Some(c) = command
        .chars()
        .find(|c| SHELL_METACHARACTERS.contains(c) || (c.is_control() && *c != '\t'))
    {
        return Err(refused_character(c));
    }
    let words = shell_words::split(command)
        .map_err(|_| "the command has an unbalanced quote".to_owned())?;
    let Some(first) = words.first() else {
        return Err("the command is empty".into());
    };
    let binary = cli.binary();
    let args = match head(cli, first) {
        Head::Binary => &words[1..],
        Head::Argument => &words[..],
        Head::Program(program) => {
            return Err(format!(
                "only {binary} commands can run through this tool; `{program}` is another program"
            ))
        }
        Head::Assignment => {
            return Err(format!(
                "only {binary} commands can run through this tool; environment assignments \
                 like `{first}` are not supported"
            ))
        }
    };
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(binary.to_owned());
    argv.extend(args.iter().cloned());
    Ok(argv)
}

fn refused_character(c: char) -> String {
    let shown = match c {
        '\n' => "a newline".to_owned(),
        '\r' => "a carriage return".to_owned(),
        '`' => "a backtick (`)".to_owned(),
        c if SHELL_METACHARACTERS.contains(&c) => format!("`{c}`"),
        c => format!("the control character U+{:04X}", u32::from(c)),
    };
    format!("the command contains {shown}; commands run without a shell, so shell metacharacters are refused")
}

/// What argv[0] is.
enum Head {
    /// The CLI itself (`gcloud`, `/usr/bin/gcloud`): dropped.
    Binary,
    /// The first argument of a command given without its binary (`compute instances list`).
    Argument,
    /// Another program: refused.
    Program(String),
    /// `NAME=value`, a shell environment assignment: refused.
    Assignment,
}

fn head(cli: Cli, word: &str) -> Head {
    if word.starts_with('-') {
        return Head::Argument;
    }
    let name = word.rsplit('/').next().unwrap_or(word);
    if cli.is_invoked_as(name) {
        return Head::Binary;
    }
    if word.contains('/') {
        return Head::Program(word.to_owned());
    }
    if is_environment_assignment(word) {
        return Head::Assignment;
    }
    let another_cli = Cli::ALL.iter().any(|other| other.is_invoked_as(name));
    if another_cli || (OTHER_PROGRAMS.contains(&name) && !has_top_level_command(cli, name)) {
        return Head::Program(name.to_owned());
    }
    Head::Argument
}

fn is_environment_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.chars().any(|c| c.is_ascii_uppercase())
    })
}

/// Whether `word` is a first-level command of `cli` (so `kubectl cp` is not the program `cp`).
fn has_top_level_command(cli: Cli, word: &str) -> bool {
    let in_table = |table: &[(&str, Kind)]| table.iter().any(|(name, _)| *name == word);
    match cli {
        Cli::Kubectl => kubectl_knows(word),
        Cli::Tailscale => tailscale_knows(word),
        Cli::Gcloud => in_table(GCLOUD.top_level),
        Cli::Az => in_table(AZ.top_level),
        Cli::Scw => in_table(SCW.top_level),
        Cli::Ovh => in_table(OVH.top_level),
        Cli::Aws => false,
    }
}

// ----------------------------------------------------------------------------------------------
// Step 5: what a command does
// ----------------------------------------------------------------------------------------------

/// Why a command has its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reads,
    Help,
    /// Reads credentials or secret values: mutating, so ask mode and background runs refuse it.
    Secret,
    Changes,
    /// A verb the gate does not know: mutating (fail closed).
    Unknown,
    Deletes,
    /// Runs arbitrary commands remotely: destructive, since nobody can tell what it will do.
    Executes,
    /// A `--force`-like flag.
    Forced,
}

impl Kind {
    fn class(self) -> Class {
        match self {
            Kind::Reads | Kind::Help => Class::ReadOnly,
            Kind::Secret | Kind::Changes | Kind::Unknown => Class::Mutating,
            Kind::Deletes | Kind::Executes | Kind::Forced => Class::Destructive,
        }
    }
}

fn rank(class: Class) -> u8 {
    match class {
        Class::ReadOnly => 0,
        Class::Mutating => 1,
        Class::Destructive => 2,
    }
}

/// A command's class, why, and the command as shown in the reason (`aws s3 rm`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Assessment {
    kind: Kind,
    command: String,
    /// The flag behind [`Kind::Forced`].
    flag: Option<String>,
}

impl Assessment {
    fn new(kind: Kind, command: String) -> Self {
        Self {
            kind,
            command,
            flag: None,
        }
    }

    /// Moves to `kind` if that makes the class worse; never better. Returns whether it moved.
    fn raise(&mut self, kind: Kind) -> bool {
        let worse = rank(kind.class()) > rank(self.kind.class());
        if worse {
            self.kind = kind;
        }
        worse
    }

    fn describe(&self) -> String {
        let command = &self.command;
        match self.kind {
            Kind::Reads => format!("`{command}` only reads"),
            Kind::Help => format!("`{command}` only prints help or usage"),
            Kind::Secret => format!("`{command}` reveals credentials or secret values"),
            Kind::Changes => format!("`{command}` changes resources"),
            Kind::Unknown => format!("`{command}` is not a command the gate knows to be read-only"),
            Kind::Deletes => format!("`{command}` deletes"),
            Kind::Executes => format!("`{command}` runs arbitrary commands remotely"),
            Kind::Forced => format!(
                "`{command}` uses `{}`",
                self.flag.as_deref().unwrap_or("--force")
            ),
        }
    }
}

/// `binary word word…`, for reasons.
fn shown(binary: &str, words: &[&str]) -> String {
    std::iter::once(binary)
        .chain(words.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

fn assess(cli: Cli, args: &[String]) -> Assessment {
    let parsed = Parsed::new(args, flag_spec(cli));
    let mut assessment = match cli {
        Cli::Kubectl => assess_kubectl(&parsed),
        Cli::Aws => assess_aws(&parsed),
        Cli::Tailscale => assess_tailscale(&parsed),
        Cli::Gcloud => assess_by_vocabulary(&GCLOUD, &parsed),
        Cli::Az => assess_by_vocabulary(&AZ, &parsed),
        Cli::Scw => assess_scw(&parsed),
        Cli::Ovh => assess_by_vocabulary(&OVH, &parsed),
    };
    if let Some(at) = parsed.dashdash {
        if matches!(assessment.kind, Kind::Help | Kind::Unknown) {
            // No command before `--`: the CLI's parser may still take what follows as one
            // (`gcloud -- compute instances delete vm`). Judge it without the `--`, and never
            // as read-only.
            let mut without = args.to_vec();
            without.remove(at);
            assessment = assess(cli, &without);
            assessment.raise(Kind::Unknown);
        }
    }
    if assessment.kind != Kind::Help {
        if let Some(flag) = destructive_flag(cli, args) {
            if assessment.raise(Kind::Forced) {
                assessment.flag = Some(flag);
            }
        }
    }
    assessment
}

// ----------------------------------------------------------------------------------------------
// Flags and positionals
// ----------------------------------------------------------------------------------------------

/// How a CLI's flag parser reads `--flag value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagStyle {
    /// spf13/pflag (kubectl, scw, ovh): a value flag takes the next word even if it starts with
    /// `-`; `-abc` is `-a` with the value `bc`, or the switches `-a -b -c`.
    Pflag,
    /// Python argparse (gcloud, aws, az): a value flag does not take a next word starting with
    /// `-`.
    Argparse,
    /// Go's `flag` package (tailscale): `-name` is the same flag as `--name`.
    GoFlag,
}

/// A CLI's flags. Flags in neither list are assumed to take a value.
struct FlagSpec {
    style: FlagStyle,
    values: &'static [&'static str],
    switches: &'static [&'static str],
}

/// Help flags are switches in every CLI.
const HELP_FLAGS: &[&str] = &["--help", "-h", "-help"];

impl FlagSpec {
    fn is_switch(&self, name: &str) -> bool {
        HELP_FLAGS.contains(&name) || self.lists(self.switches, name)
    }

    fn takes_value(&self, name: &str) -> bool {
        self.lists(self.values, name)
    }

    fn lists(&self, list: &[&str], name: &str) -> bool {
        match self.style {
            FlagStyle::GoFlag => {
                let bare = name.trim_start_matches('-');
                list.iter().any(|f| f.trim_start_matches('-') == bare)
            }
            FlagStyle::Pflag | FlagStyle::Argparse => list.contains(&name),
        }
    }
}

#[derive(Debug)]
struct Flag<'a> {
    /// Position in the args.
    index: usize,
    name: &'a str,
    value: Option<&'a str>,
    /// The value was taken by a flag the gate does not know: it may really be a positional.
    guessed: bool,
}

/// The args split into flags and positionals; everything after `--` belongs to another program
/// and is left out.
#[derive(Debug, Default)]
struct Parsed<'a> {
    positionals: Vec<(usize, &'a str)>,
    flags: Vec<Flag<'a>>,
    /// Where `--` is, if words follow it.
    dashdash: Option<usize>,
}

fn looks_like_flag(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

impl<'a> Parsed<'a> {
    fn new(args: &'a [String], spec: &FlagSpec) -> Self {
        let mut parsed = Parsed::default();
        let mut i = 0;
        while let Some(word) = args.get(i).map(String::as_str) {
            if word == "--" {
                parsed.dashdash = (i + 1 < args.len()).then_some(i);
                break;
            }
            if !looks_like_flag(word) {
                parsed.positionals.push((i, word));
                i += 1;
                continue;
            }
            let (name, value, may_take_next) = split_flag(spec, word);
            let mut flag = Flag {
                index: i,
                name,
                value,
                guessed: false,
            };
            if may_take_next && !spec.is_switch(name) {
                if let Some(next) = args.get(i + 1).map(String::as_str) {
                    if spec.style != FlagStyle::Argparse || !looks_like_flag(next) {
                        flag.value = Some(next);
                        flag.guessed = !spec.takes_value(name);
                        i += 1;
                    }
                }
            }
            parsed.flags.push(flag);
            i += 1;
        }
        parsed
    }

    fn words(&self) -> Vec<&'a str> {
        self.positionals.iter().map(|&(_, word)| word).collect()
    }

    fn flag(&self, names: &[&str]) -> Option<&Flag<'a>> {
        self.flags.iter().find(|f| names.contains(&f.name))
    }

    fn has_flag(&self, names: &[&str]) -> bool {
        self.flag(names).is_some()
    }

    /// The help flag, if one was given as a flag (not as another flag's value).
    fn help_flag(&self, names: &[&str]) -> Option<&Flag<'a>> {
        self.flags
            .iter()
            .find(|f| names.contains(&f.name) && f.value.is_none())
    }

    /// Values taken by flags the gate does not know.
    fn guessed_values(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.flags
            .iter()
            .filter(|f| f.guessed)
            .filter_map(|f| f.value)
    }
}

/// `(name, inline value, whether it may take the next word)`.
fn split_flag<'a>(spec: &FlagSpec, word: &'a str) -> (&'a str, Option<&'a str>, bool) {
    if spec.style != FlagStyle::GoFlag && !word.starts_with("--") {
        // `-nprod` and `-n=prod` are `-n prod`; `-it` is `-i -t`.
        if let Some((at, _)) = word.char_indices().nth(2) {
            let (name, rest) = word.split_at(at);
            let value = match rest.strip_prefix('=') {
                Some(value) => Some(value),
                None => spec.takes_value(name).then_some(rest),
            };
            return (name, value, false);
        }
    }
    match word.split_once('=') {
        Some((name, value)) => (name, Some(value), false),
        None => (word, None, true),
    }
}

fn is_false(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "false" | "0" | "no" | "off"
    )
}

/// `--force` flags that only change how a value is parsed or how a change is applied.
const HARMLESS_FORCE_FLAGS: &[&str] = &[
    // az generic update: do not parse `--set` values as JSON.
    "--force-string",
    // kubectl server-side apply: take ownership of conflicting fields; still an apply.
    "--force-conflicts",
    // aws ecs update-service: a rolling restart, like `kubectl rollout restart`.
    "--force-new-deployment",
];

/// The first flag that makes any command destructive, wherever it is.
fn destructive_flag(cli: Cli, args: &[String]) -> Option<String> {
    args.iter().enumerate().find_map(|(i, word)| {
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (word.as_str(), None),
        };
        let enabled = !value.is_some_and(is_false);
        let dashed = name.starts_with('-');
        let bare = name.trim_start_matches('-');
        let force_like = bare == "force" || bare.starts_with("force-");
        let forced = dashed && force_like && !HARMLESS_FORCE_FLAGS.contains(&name) && enabled;
        let next = args.get(i + 1).map(String::as_str);
        let cli_specific = match cli {
            Cli::Aws => name == "--delete" && enabled,
            Cli::Gcloud => name == "--delete-unmatched-destination-objects" && enabled,
            Cli::Kubectl => {
                ((name == "--prune" || name == "--now") && enabled)
                    || (name == "--grace-period" && value.or(next) == Some("0"))
            }
            // scw takes `key=value` arguments: `force-shutdown=true`.
            Cli::Scw => !dashed && force_like && value.is_some() && enabled,
            Cli::Az | Cli::Tailscale | Cli::Ovh => false,
        };
        (forced || cli_specific).then(|| word.clone())
    })
}

// ----------------------------------------------------------------------------------------------
// kubectl: `kubectl [flags] VERB [SUBVERB] [args]`
// ----------------------------------------------------------------------------------------------

const KUBECTL_FLAGS: FlagSpec = FlagSpec {
    style: FlagStyle::Pflag,
    values: &[
        "-n",
        "--namespace",
        "--context",
        "--cluster",
        "--user",
        "--kubeconfig",
        "-s",
        "--server",
        "--token",
        "--as",
        "--as-group",
        "--as-uid",
        "--certificate-authority",
        "--client-certificate",
        "--client-key",
        "--cache-dir",
        "--request-timeout",
        "--tls-server-name",
        "--profile",
        "--profile-output",
        "--log-file",
        "--log-dir",
        "-v",
        "--v",
        "--vmodule",
        "--password",
        "--username",
        "-o",
        "--output",
        "-l",
        "--selector",
        "--field-selector",
        "-f",
        "--filename",
        "-k",
        "--kustomize",
        "-c",
        "--container",
        "--sort-by",
        "--template",
        "-L",
        "--label-columns",
        "--chunk-size",
        "--since",
        "--since-time",
        "--tail",
        "--replicas",
        "--grace-period",
        "--timeout",
        "--for",
        "--image",
        "-p",
        "--patch",
        "--type",
        "--raw",
        "--subresource",
        "--limit-bytes",
        "--address",
        "--port",
        "--field-manager",
    ],
    switches: &[
        "-A",
        "--all-namespaces",
        "-w",
        "--watch",
        "--watch-only",
        "-R",
        "--recursive",
        "--show-labels",
        "--no-headers",
        "--ignore-not-found",
        "--overwrite",
        "--all",
        "--now",
        "--force",
        "--prune",
        "--server-side",
        "--dry-run",
        "--wait",
        "--insecure-skip-tls-verify",
        "--match-server-version",
        "--warnings-as-errors",
        "--disable-compression",
        "-i",
        "--stdin",
        "-t",
        "--tty",
        "-q",
        "--quiet",
        "--previous",
        "--follow",
        "--timestamps",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--disable-eviction",
        "--record",
        "--local",
        "--minify",
        "--flatten",
        "--show-kind",
        "--show-managed-fields",
        "--client",
        "--all-containers",
        "--prefix",
        "--force-conflicts",
        "--cascade",
    ],
};

const KUBECTL_READS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "top",
    "explain",
    "api-resources",
    "api-versions",
    "version",
    "cluster-info",
    "events",
    "diff",
    "wait",
    "kustomize",
    "completion",
    "options",
];
const KUBECTL_CHANGES: &[&str] = &[
    "create",
    "expose",
    "run",
    "set",
    "edit",
    "scale",
    "autoscale",
    "certificate",
    "cordon",
    "uncordon",
    "taint",
    "label",
    "annotate",
    "patch",
    "replace",
    "alpha",
    // `cp` writes files into a container (or onto the gate's host); `port-forward` and `proxy`
    // open listeners into the cluster. None of them reads only, none of them deletes.
    "cp",
    "port-forward",
    "proxy",
];
const KUBECTL_DELETES: &[&str] = &["delete", "drain"];
/// `exec` and `attach` run whatever the command says inside a production container, and `debug`
/// starts a container of any image next to one (or a privileged pod on a node): they can do
/// anything, including destroying data, so a human confirms them.
const KUBECTL_EXECUTES: &[&str] = &["exec", "attach", "debug"];
/// Commands with subcommands, and which of those only read.
const KUBECTL_GROUPS: &[(&str, &[&str])] = &[
    ("rollout", &["status", "history"]),
    (
        "config",
        &[
            "view",
            "get-contexts",
            "get-clusters",
            "get-users",
            "current-context",
        ],
    ),
    ("auth", &["can-i", "whoami"]),
    ("apply", &["view-last-applied"]),
    ("plugin", &["list"]),
];

fn kubectl_knows(verb: &str) -> bool {
    verb == "help"
        || [
            KUBECTL_READS,
            KUBECTL_CHANGES,
            KUBECTL_DELETES,
            KUBECTL_EXECUTES,
        ]
        .iter()
        .any(|table| table.contains(&verb))
        || KUBECTL_GROUPS.iter().any(|(group, _)| *group == verb)
}

fn assess_kubectl(parsed: &Parsed<'_>) -> Assessment {
    let words = parsed.words();
    let Some(&verb) = words.first() else {
        return Assessment::new(Kind::Help, "kubectl".into());
    };
    let group = KUBECTL_GROUPS.iter().find(|(name, _)| *name == verb);
    let sub = group.and(words.get(1).copied());
    let command = shown("kubectl", &words[..1 + usize::from(sub.is_some())]);
    // A verb kubectl does not know runs a plugin, which gets `--help` as a plain argument.
    if kubectl_knows(verb) && parsed.help_flag(HELP_FLAGS).is_some() {
        return Assessment::new(Kind::Help, command);
    }
    // `kubectl apply -f x.yaml` applies; any other group on its own prints its help.
    if group.is_some() && sub.is_none() && verb != "apply" {
        return Assessment::new(Kind::Help, command);
    }
    let kind = if verb == "help" {
        Kind::Help
    } else if KUBECTL_EXECUTES.contains(&verb) {
        Kind::Executes
    } else if KUBECTL_DELETES.contains(&verb) {
        Kind::Deletes
    } else if verb == "get" && kubectl_get_reveals_secrets(parsed, &words) {
        Kind::Secret
    } else if KUBECTL_READS.contains(&verb) {
        Kind::Reads
    } else if let Some((_, reads)) = group {
        match sub {
            // Only `apply` gets here without a subcommand.
            None => Kind::Changes,
            Some("view") if verb == "config" && parsed.has_flag(&["--raw", "--flatten"]) => {
                Kind::Secret
            }
            Some(sub) if reads.contains(&sub) => Kind::Reads,
            Some(sub) if is_destructive_word(sub) => Kind::Deletes,
            Some(_) => Kind::Changes,
        }
    } else if KUBECTL_CHANGES.contains(&verb) {
        Kind::Changes
    } else {
        Kind::Unknown
    };
    Assessment::new(kind, command)
}

/// `kubectl get secret … -o yaml|json|jsonpath=…` prints the secret's data; the default table
/// (and `-o wide|name`) prints only names. `--raw /api/…/secrets` prints them too.
fn kubectl_get_reveals_secrets(parsed: &Parsed<'_>, words: &[&str]) -> bool {
    let names_secrets = words
        .iter()
        .skip(1)
        .flat_map(|word| word.split(','))
        .any(|resource| {
            let kind = resource.split('/').next().unwrap_or(resource);
            let kind = kind.to_ascii_lowercase();
            kind == "secret"
                || kind == "secrets"
                || kind.starts_with("secret.")
                || kind.starts_with("secrets.")
        });
    let prints_data = parsed
        .flag(&["-o", "--output"])
        .and_then(|f| f.value)
        .is_some_and(|format| !matches!(format, "wide" | "name"))
        || parsed.has_flag(&["--template"]);
    let raw_secrets = parsed
        .flag(&["--raw"])
        .and_then(|f| f.value)
        .is_some_and(|path| path.contains("secret"));
    (names_secrets && prints_data) || raw_secrets
}

// ----------------------------------------------------------------------------------------------
// aws: `aws [flags] SERVICE OPERATION [args]`
// ----------------------------------------------------------------------------------------------

const AWS_FLAGS: FlagSpec = FlagSpec {
    style: FlagStyle::Argparse,
    values: &[
        "--region",
        "--profile",
        "--output",
        "--query",
        "--endpoint-url",
        "--color",
        "--ca-bundle",
        "--cli-read-timeout",
        "--cli-connect-timeout",
        "--cli-binary-format",
        "--cli-input-json",
        "--cli-input-yaml",
        "--page-size",
        "--max-items",
        "--starting-token",
    ],
    switches: &[
        "--debug",
        "--no-verify-ssl",
        "--no-paginate",
        "--no-sign-request",
        "--no-cli-pager",
        "--cli-auto-prompt",
        "--no-cli-auto-prompt",
        "--version",
        "--dry-run",
        "--no-dry-run",
        "--recursive",
        "--delete",
        "--force",
        "--quiet",
        "--with-decryption",
        "--no-with-decryption",
        "--follow",
        "--dryrun",
        "--human-readable",
        "--summarize",
        "--only-show-errors",
        "--exact-timestamps",
    ],
};

const AWS_READ_PREFIXES: &[&str] = &[
    "describe-",
    "get-",
    "list-",
    "lookup-",
    "search-",
    "batch-get-",
    "head-",
    "filter-",
    "simulate-",
];
const AWS_READS: &[&str] = &[
    "ls",
    "tail",
    "wait",
    "scan",
    "query",
    "select",
    "validate-template",
];
/// Operations that only read although their name says otherwise.
const AWS_SERVICE_READS: &[(&str, &str)] = &[
    // CloudWatch Logs Insights: a query reads logs.
    ("logs", "start-query"),
    ("logs", "stop-query"),
    ("logs", "start-live-tail"),
];
/// `revoke-` withdraws access rules (the usual way to cut traffic by mistake) and `release-`
/// gives up an address for good; `detach-` and `disassociate-` are reversible, so mutating.
const AWS_DELETE_PREFIXES: &[&str] = &[
    "delete-",
    "remove-",
    "terminate-",
    "destroy-",
    "drop-",
    "truncate-",
    "purge-",
    "deregister-",
    "revoke-",
    "release-",
    "batch-delete-",
];
const AWS_DELETES: &[&str] = &[
    "schedule-key-deletion",
    "close-account",
    "leave-organization",
];
const AWS_EXECUTES: &[(&str, &str)] = &[
    ("ssm", "send-command"),
    ("ssm", "start-session"),
    ("ecs", "execute-command"),
    ("ec2-instance-connect", "ssh"),
];
const AWS_SECRETS: &[(&str, &str)] = &[
    ("secretsmanager", "get-secret-value"),
    ("secretsmanager", "batch-get-secret-value"),
    ("ecr", "get-login-password"),
    ("ecr", "get-login"),
    ("ecr", "get-authorization-token"),
    ("ecr-public", "get-login-password"),
    ("ecr-public", "get-authorization-token"),
    ("eks", "get-token"),
    ("sts", "get-session-token"),
    ("sts", "get-federation-token"),
    ("codeartifact", "get-authorization-token"),
    ("ec2", "get-password-data"),
    ("lightsail", "get-instance-access-details"),
    ("lightsail", "get-relational-database-master-user-password"),
    ("redshift", "get-cluster-credentials"),
    ("redshift", "get-cluster-credentials-with-iam"),
    ("redshift-serverless", "get-credentials"),
    ("cognito-identity", "get-credentials-for-identity"),
    ("sso", "get-role-credentials"),
    ("rds", "generate-db-auth-token"),
    ("configure", "export-credentials"),
    // A presigned URL is a bearer credential for the object.
    ("s3", "presign"),
];

fn assess_aws(parsed: &Parsed<'_>) -> Assessment {
    let words = parsed.words();
    let command = shown("aws", &words[..words.len().min(2)]);
    // `aws help`, `aws ec2 help`, `aws ec2 describe-instances help`.
    let help_after_operation = match (parsed.positionals.get(1), parsed.positionals.get(2)) {
        (Some(&(operation_at, _)), Some(&(at, "help"))) => at == operation_at + 1,
        _ => false,
    };
    if words.iter().take(2).any(|w| *w == "help")
        || help_after_operation
        || parsed.help_flag(&["--help"]).is_some()
    {
        return Assessment::new(Kind::Help, command);
    }
    match (words.first(), words.get(1)) {
        (Some(service), Some(operation)) => {
            Assessment::new(aws_kind(service, operation, parsed, &words[2..]), command)
        }
        // `aws` or `aws ec2` alone: a usage error, nothing runs.
        _ => Assessment::new(Kind::Help, command),
    }
}

fn aws_kind(service: &str, operation: &str, parsed: &Parsed<'_>, rest: &[&str]) -> Kind {
    let pair = (service, operation);
    if AWS_EXECUTES.contains(&pair) {
        return Kind::Executes;
    }
    if AWS_SECRETS.contains(&pair)
        || (service == "ssm"
            && operation.starts_with("get-parameter")
            && parsed.has_flag(&["--with-decryption"]))
    {
        return Kind::Secret;
    }
    match service {
        "s3" => return aws_s3_kind(operation),
        "configure" => return aws_configure_kind(operation, rest),
        _ => {}
    }
    if AWS_SERVICE_READS.contains(&pair) {
        Kind::Reads
    } else if AWS_DELETES.contains(&operation)
        || AWS_DELETE_PREFIXES.iter().any(|p| operation.starts_with(p))
    {
        Kind::Deletes
    } else if AWS_READS.contains(&operation)
        || AWS_READ_PREFIXES.iter().any(|p| operation.starts_with(p))
    {
        Kind::Reads
    } else if operation.contains('-') {
        // Every other AWS API operation is a verb-noun that changes something.
        Kind::Changes
    } else {
        Kind::Unknown
    }
}

/// The high-level `aws s3` commands.
fn aws_s3_kind(command: &str) -> Kind {
    match command {
        "ls" => Kind::Reads,
        "rm" | "rb" => Kind::Deletes,
        // `cp s3://b/k -` only prints the object, but `cp` in general writes: mutating.
        "cp" | "mv" | "sync" | "mb" | "website" => Kind::Changes,
        _ => Kind::Unknown,
    }
}

/// `aws configure`: local settings. `get` reads one, unless it is a secret.
fn aws_configure_kind(command: &str, rest: &[&str]) -> Kind {
    match command {
        "list" | "list-profiles" => Kind::Reads,
        "get" if rest.iter().any(|key| mentions_secret(key)) => Kind::Secret,
        "get" => Kind::Reads,
        _ => Kind::Changes,
    }
}

fn mentions_secret(word: &str) -> bool {
    let word = word.to_ascii_lowercase();
    word.contains("secret") || word.contains("token") || word.contains("password")
}

// ----------------------------------------------------------------------------------------------
// tailscale: `tailscale [--socket S] VERB [SUBVERB] [flags] [args]`
// ----------------------------------------------------------------------------------------------

const TAILSCALE_FLAGS: FlagSpec = FlagSpec {
    style: FlagStyle::GoFlag,
    values: &[
        "--socket",
        "--timeout",
        "--c",
        "--every",
        "--hostname",
        "--auth-key",
        "--login-server",
        "--advertise-routes",
        "--advertise-tags",
        "--exit-node",
        "--operator",
        "--netfilter-mode",
        "--set-path",
        "--https",
        "--http",
        "--tcp",
        "--tls-terminated-tcp",
        "--cert-file",
        "--key-file",
        "--min-validity",
    ],
    switches: &[
        "--json",
        "--active",
        "--self",
        "--peers",
        "--web",
        "--browser",
        "--list",
        "--bg",
        "--yes",
        "--verbose",
        "--accept-routes",
        "--accept-dns",
        "--reset",
        "--force-reauth",
        "--ssh",
        "--shields-up",
        "--advertise-exit-node",
        "--exit-node-allow-lan-access",
        "--qr",
        "--unattended",
        "--snat-subnet-routes",
        "--tsmp",
        "--icmp",
        "--peerapi",
        "--until-direct",
        "--4",
        "--6",
        "--1",
        "--dry-run",
    ],
};

const TAILSCALE_READS: &[&str] = &[
    "status",
    "ip",
    "ping",
    "netcheck",
    "version",
    "whois",
    "licenses",
    "completion",
    "appc-routes",
];
/// `up`, `set`, `login`, `switch` change this node; `serve`/`funnel` expose services (funnel to
/// the internet); `cert`, `file`, `web`, `bugreport` write files, open listeners or upload
/// diagnostics; `debug` is a grab-bag that includes writes, so it is not read-only.
const TAILSCALE_CHANGES: &[&str] = &[
    "up",
    "set",
    "login",
    "switch",
    "cert",
    "file",
    "serve",
    "funnel",
    "web",
    "update",
    "bugreport",
    "configure",
    "debug",
    "drive",
    "lock",
    "dns",
    "exit-node",
    "metrics",
    "syspolicy",
    "systray",
];
/// `down` cuts the host running Aurora off the tailnet (including from whoever would fix it);
/// `logout` also expires its node key.
const TAILSCALE_DELETES: &[&str] = &["down", "logout"];
/// `ssh` runs a remote command; `nc` pipes raw bytes to any port on the tailnet.
const TAILSCALE_EXECUTES: &[&str] = &["ssh", "nc"];
const TAILSCALE_GROUPS: &[(&str, &[&str])] = &[
    ("dns", &["status", "query"]),
    ("exit-node", &["list", "suggest"]),
    ("lock", &["status", "log"]),
    ("serve", &["status"]),
    ("funnel", &["status"]),
    ("drive", &["list"]),
    ("metrics", &["print"]),
    ("syspolicy", &["list"]),
    ("file", &[]),
];

fn tailscale_knows(verb: &str) -> bool {
    [
        TAILSCALE_READS,
        TAILSCALE_CHANGES,
        TAILSCALE_DELETES,
        TAILSCALE_EXECUTES,
    ]
    .iter()
    .any(|table| table.contains(&verb))
}

fn assess_tailscale(parsed: &Parsed<'_>) -> Assessment {
    let words = parsed.words();
    let Some(&verb) = words.first() else {
        return Assessment::new(Kind::Help, "tailscale".into());
    };
    let group = TAILSCALE_GROUPS.iter().find(|(name, _)| *name == verb);
    let sub = group.and(words.get(1).copied());
    let command_words = 1 + usize::from(sub.is_some());
    let command = shown("tailscale", &words[..command_words]);
    // Go's flag package stops at the first argument: a help flag after one belongs to it (for
    // `tailscale ssh host cmd --help`, to the remote command).
    let first_argument_at = parsed.positionals.get(command_words).map(|&(at, _)| at);
    let help = parsed
        .help_flag(HELP_FLAGS)
        .is_some_and(|f| first_argument_at.is_none_or(|at| f.index < at));
    if tailscale_knows(verb) && help {
        return Assessment::new(Kind::Help, command);
    }
    let kind = if TAILSCALE_EXECUTES.contains(&verb) {
        Kind::Executes
    } else if TAILSCALE_DELETES.contains(&verb) {
        Kind::Deletes
    } else if TAILSCALE_READS.contains(&verb) {
        Kind::Reads
    } else if let Some((_, reads)) = group {
        match sub {
            Some(sub) if reads.contains(&sub) => Kind::Reads,
            Some(sub) if is_destructive_word(sub) => Kind::Deletes,
            _ => Kind::Changes,
        }
    } else if verb == "switch" && parsed.has_flag(&["--list", "-list"]) {
        Kind::Reads
    } else if TAILSCALE_CHANGES.contains(&verb) {
        Kind::Changes
    } else {
        Kind::Unknown
    };
    Assessment::new(kind, command)
}

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
const DESTRUCTIVE_WORDS: &[&str] = &[
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
const VERB_QUALIFIERS: &[&str] = &["batch", "bulk", "force", "hard", "permanently", "mass"];
const READ_WORDS: &[&str] = &[
    "list", "describe", "get", "show", "read", "tail", "view", "search", "query", "lookup",
    "exists", "wait", "status", "info", "ls", "logs", "inspect",
];
const READ_PREFIXES: &[&str] = &[
    "list-",
    "get-",
    "describe-",
    "show-",
    "search-",
    "lookup-",
    "tail-",
];
/// Verbs (or first parts of hyphenated verbs) that change something.
const CHANGE_WORDS: &[&str] = &[
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
struct Vocabulary {
    binary: &'static str,
    flags: FlagSpec,
    /// Words that may come first and are skipped (gcloud's release tracks).
    release_tracks: &'static [&'static str],
    /// Commands directly under the binary (`gcloud version`, `az login`).
    top_level: &'static [(&'static str, Kind)],
    /// Verbs whose kind differs from the shared tables, checked first.
    verbs: &'static [(&'static str, Kind)],
    /// Group names that look like verbs.
    not_verbs: &'static [&'static str],
    /// Consecutive words of the command path with a kind of their own (`keys list`: secret).
    paths: &'static [(&'static str, Kind)],
}

const GCLOUD: Vocabulary = Vocabulary {
    binary: "gcloud",
    flags: FlagSpec {
        style: FlagStyle::Argparse,
        values: &[
            "--account",
            "--billing-project",
            "--configuration",
            "--flags-file",
            "--flatten",
            "--format",
            "--impersonate-service-account",
            "--project",
            "--trace-token",
            "--verbosity",
            "--access-token-file",
            "--universe-domain",
            "--region",
            "--zone",
            "--filter",
            "--limit",
            "--page-size",
            "--sort-by",
            "--location",
        ],
        switches: &[
            "--quiet",
            "-q",
            "--log-http",
            "--no-log-http",
            "--user-output-enabled",
            "--no-user-output-enabled",
            "--uri",
            "--async",
        ],
    },
    release_tracks: &["alpha", "beta", "preview"],
    top_level: &[
        ("help", Kind::Help),
        ("topic", Kind::Help),
        ("version", Kind::Reads),
        ("info", Kind::Reads),
        ("cheat-sheet", Kind::Reads),
        ("init", Kind::Changes),
        ("feedback", Kind::Changes),
        ("survey", Kind::Changes),
        ("docker", Kind::Changes),
        ("interactive", Kind::Executes),
    ],
    verbs: &[
        ("read", Kind::Reads),
        ("log", Kind::Reads),
        ("cat", Kind::Reads),
        ("du", Kind::Reads),
        // Tokens and credentials: reading them is not what ask mode is for.
        ("print-access-token", Kind::Secret),
        ("print-identity-token", Kind::Secret),
        ("print-refresh-token", Kind::Secret),
        ("config-helper", Kind::Secret),
        ("get-credentials", Kind::Secret),
        ("sign-url", Kind::Secret),
        ("access", Kind::Secret),
        ("reset-windows-password", Kind::Secret),
        ("ssh", Kind::Executes),
        ("connect", Kind::Executes),
        ("connect-to-serial-port", Kind::Executes),
        ("scp", Kind::Changes),
    ],
    // `gcloud logging logs delete`, `gcloud functions logs read`.
    not_verbs: &["logs"],
    paths: &[],
};

const AZ: Vocabulary = Vocabulary {
    binary: "az",
    flags: FlagSpec {
        style: FlagStyle::Argparse,
        values: &[
            "-o",
            "--output",
            "--query",
            "--subscription",
            "-g",
            "--resource-group",
            "-n",
            "--name",
            "-l",
            "--location",
            "--ids",
            "--vault-name",
            "--resource-type",
            "--namespace",
            "--parent",
            "--command-id",
            "--scripts",
            "--analytics-query",
            "-w",
            "--workspace",
        ],
        switches: &[
            "--debug",
            "--verbose",
            "--only-show-errors",
            "--yes",
            "-y",
            "--no-wait",
            "--all",
            "--show-details",
            "-d",
            "--follow",
        ],
    },
    release_tracks: &[],
    top_level: &[
        ("version", Kind::Reads),
        ("find", Kind::Reads),
        ("self-test", Kind::Reads),
        ("login", Kind::Changes),
        ("logout", Kind::Changes),
        ("upgrade", Kind::Changes),
        ("feedback", Kind::Changes),
        ("configure", Kind::Changes),
        ("init", Kind::Changes),
        ("survey", Kind::Changes),
        // Any REST call, with any method and body.
        ("rest", Kind::Changes),
        ("interactive", Kind::Executes),
        ("ssh", Kind::Executes),
    ],
    verbs: &[
        ("invoke", Kind::Executes),
        ("exec", Kind::Executes),
        ("ssh", Kind::Executes),
        ("connect", Kind::Executes),
        ("get-access-token", Kind::Secret),
        ("get-credentials", Kind::Secret),
        ("list-keys", Kind::Secret),
        ("list-credentials", Kind::Secret),
        ("list-publishing-credentials", Kind::Secret),
        ("list-publishing-profiles", Kind::Secret),
        ("show-connection-string", Kind::Secret),
        ("list-connection-strings", Kind::Secret),
    ],
    not_verbs: &[
        "lock",
        "tag",
        "backup",
        "run-command",
        "restore-point",
        "autoscale",
    ],
    paths: &[
        ("keys list", Kind::Secret),
        ("keys show", Kind::Secret),
        ("credential show", Kind::Secret),
        ("secret show", Kind::Secret),
        ("connection-string show", Kind::Secret),
        ("connection-string list", Kind::Secret),
        ("appsettings list", Kind::Secret),
        ("admin-key show", Kind::Secret),
        ("query-key list", Kind::Secret),
        ("run-command create", Kind::Executes),
        ("run-command update", Kind::Executes),
    ],
};

const SCW: Vocabulary = Vocabulary {
    binary: "scw",
    flags: FlagSpec {
        style: FlagStyle::Pflag,
        values: &["-c", "--config", "-o", "--output", "-p", "--profile"],
        switches: &["-D", "--debug", "--web", "-w", "--wait"],
    },
    release_tracks: &[],
    top_level: &[
        ("help", Kind::Help),
        ("version", Kind::Reads),
        ("info", Kind::Reads),
        ("init", Kind::Changes),
        ("login", Kind::Changes),
        ("shell", Kind::Changes),
        ("feedback", Kind::Changes),
        ("autocomplete", Kind::Changes),
    ],
    verbs: &[
        ("ssh", Kind::Executes),
        ("get-rdp-password", Kind::Secret),
        ("access", Kind::Secret),
        ("access-by-path", Kind::Secret),
        ("dump", Kind::Secret),
        ("get-credentials", Kind::Secret),
        ("get-download-url", Kind::Secret),
        ("get-upload-url", Kind::Secret),
    ],
    // Groups: `scw rdb backup list`, `scw instance snapshot list`, `scw registry tag list`,
    // `scw function trigger list`. (`scw instance server backup ID` uses `backup` as a verb:
    // then no verb is found and the command is mutating anyway.)
    not_verbs: &["backup", "snapshot", "tag", "trigger"],
    paths: &[("kubeconfig get", Kind::Secret)],
};

const OVH: Vocabulary = Vocabulary {
    binary: "ovh",
    flags: FlagSpec {
        style: FlagStyle::Pflag,
        values: &[
            "-f",
            "--format",
            "--filter",
            "--cloud-project",
            "--from-file",
        ],
        switches: &[
            "-d",
            "--debug",
            "-e",
            "--ignore-errors",
            "-i",
            "--interactive",
            "-j",
            "--json",
            "-y",
            "--yaml",
            "--wait",
            "--editor",
        ],
    },
    release_tracks: &[],
    top_level: &[
        ("help", Kind::Help),
        ("version", Kind::Reads),
        ("completion", Kind::Reads),
        ("login", Kind::Changes),
    ],
    verbs: &[
        ("confirm-termination", Kind::Deletes),
        ("get-access", Kind::Secret),
        ("list-secrets", Kind::Secret),
        ("get-console-url", Kind::Secret),
        ("generate-presigned-url", Kind::Secret),
    ],
    not_verbs: &["backup", "snapshot"],
    paths: &[
        ("kubeconfig generate", Kind::Secret),
        ("credentials get", Kind::Secret),
        ("credentials list", Kind::Secret),
        // The CLI's configuration holds the application secret and consumer key.
        ("config show", Kind::Secret),
    ],
};

fn flag_spec(cli: Cli) -> &'static FlagSpec {
    match cli {
        Cli::Kubectl => &KUBECTL_FLAGS,
        Cli::Aws => &AWS_FLAGS,
        Cli::Tailscale => &TAILSCALE_FLAGS,
        Cli::Gcloud => &GCLOUD.flags,
        Cli::Az => &AZ.flags,
        Cli::Scw => &SCW.flags,
        Cli::Ovh => &OVH.flags,
    }
}

/// `list`, `delete-instances`: lowercase letters, digits and hyphens.
fn is_command_word(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_lowercase())
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `delete`, `delete-instances`, `bulk-delete`, `batch-delete-images`.
fn is_destructive_word(word: &str) -> bool {
    word.split('-')
        .find(|part| !VERB_QUALIFIERS.contains(part))
        .is_some_and(|part| DESTRUCTIVE_WORDS.contains(&part))
}

fn lookup(table: &[(&str, Kind)], word: &str) -> Option<Kind> {
    table
        .iter()
        .find(|(name, _)| *name == word)
        .map(|&(_, kind)| kind)
}

/// The kind of `word` if it is a verb.
fn verb_kind(vocabulary: &Vocabulary, word: &str) -> Option<Kind> {
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
fn has_subpath(path: &[&str], pattern: &str) -> bool {
    let pattern: Vec<&str> = pattern.split(' ').collect();
    path.windows(pattern.len()).any(|window| window == pattern)
}

fn assess_by_vocabulary(vocabulary: &Vocabulary, parsed: &Parsed<'_>) -> Assessment {
    let binary = vocabulary.binary;
    let words = parsed.words();
    if words.is_empty() {
        return Assessment::new(Kind::Help, binary.into());
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

/// scw's `key=value` arguments can reveal secrets or create tokens.
fn assess_scw(parsed: &Parsed<'_>) -> Assessment {
    let mut assessment = assess_by_vocabulary(&SCW, parsed);
    if assessment.kind == Kind::Help {
        return assessment;
    }
    let words = parsed.words();
    let argument_is_true = |key: &str| {
        words.iter().any(|word| {
            word.split_once('=')
                .is_some_and(|(k, v)| k == key && !is_false(v))
        })
    };
    if argument_is_true("show-secret") {
        assessment.raise(Kind::Secret);
    }
    if argument_is_true("generate-token") {
        assessment.raise(Kind::Changes);
    }
    if words.starts_with(&["config", "get"]) && words[2..].iter().any(|w| mentions_secret(w)) {
        assessment.raise(Kind::Secret);
    }
    assessment
}

// ----------------------------------------------------------------------------------------------
// Tests
// ----------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    use Class::{Destructive as D, Mutating as M, ReadOnly as R};
    use Cli::{Aws, Az, Gcloud, Kubectl, Ovh, Scw, Tailscale};

    /// Real commands and what they do, one per line: `CLASS | COMMAND`, where CLASS is R
    /// (read-only), M (mutating) or D (destructive) and the command's first word, its binary,
    /// names the CLI. `#` starts a comment line.
    const TABLE: &str = r#"
# gcloud
R | gcloud compute instances list
R | gcloud compute instances list --filter=name~delete
R | gcloud --project p compute instances list
R | gcloud compute instances list --project p --format json
R | gcloud compute instances describe delete-me --zone us-central1-a
D | gcloud compute instances delete vm1 --zone us-central1-a --quiet
M | gcloud compute instances stop vm1 --zone us-central1-a
# an instance named `list`: `start` is the verb
M | gcloud compute instances start list
R | gcloud compute instances get-serial-port-output vm1
R | gcloud compute instances tail-serial-port-output vm1
M | gcloud compute instances add-metadata vm1 --metadata k=v
D | gcloud compute ssh vm1 --command uptime
M | gcloud compute scp ./dump.sql vm1:/tmp/
R | gcloud compute os-login ssh-keys list
M | gcloud compute instance-groups managed rolling-action restart web
D | gcloud compute instance-groups managed delete-instances web --instances=a
R | gcloud logging read "severity=ERROR" --limit 10
R | gcloud logging logs list
D | gcloud logging logs delete my-log
R | gcloud functions logs read my-fn --limit 50
R | gcloud app logs tail -s default
R | gcloud container clusters list
M | gcloud container clusters get-credentials prod --region europe-west1
M | gcloud container clusters resize prod --num-nodes 0
R | gcloud auth list
M | gcloud auth print-access-token
R | gcloud config list
R | gcloud config get-value project
M | gcloud config set project p
R | gcloud projects get-iam-policy p
M | gcloud projects add-iam-policy-binding p --member=user:a@b.c --role=roles/viewer
D | gcloud projects remove-iam-policy-binding p --member=user:a@b.c --role=roles/viewer
D | gcloud projects delete p
R | gcloud sql instances describe db1
D | gcloud sql instances delete db1
D | gcloud sql connect db1 --user postgres
R | gcloud storage ls gs://bucket
R | gcloud storage cat gs://bucket/config.json
M | gcloud storage cp app.log gs://bucket/
D | gcloud storage rm gs://bucket/old.log
D | gcloud storage rsync dir gs://bucket --delete-unmatched-destination-objects
R | gcloud run services describe api --region europe-west1
M | gcloud run deploy api --image gcr.io/p/api:v2
R | gcloud beta run services list
R | gcloud deploy releases list --delivery-pipeline=p
M | gcloud secrets versions access latest --secret db-password
M | gcloud pubsub topics publish t --message hello
M | gcloud services enable compute.googleapis.com
R | gcloud help compute instances delete
R | gcloud compute instances delete vm1 --help
R | gcloud version
M | gcloud compute instances frobnicate vm1
D | gcloud compute disks snapshot disk1 --force
# `--` before the verb: the parser may still take what follows as the command
D | gcloud -- compute instances delete vm1
R | gcloud

# aws
R | aws s3 ls
R | aws s3 ls s3://bucket/logs/ --recursive
D | aws s3 rm s3://bucket/key
D | aws s3 rb s3://bucket --force
M | aws s3 cp app.log s3://bucket/
M | aws s3 cp s3://bucket/key -
M | aws s3 sync . s3://bucket
D | aws s3 sync . s3://bucket --delete
M | aws s3 presign s3://bucket/key
R | aws s3api list-buckets
D | aws s3api delete-bucket --bucket b
R | aws ec2 describe-instances
R | aws --region eu-west-1 ec2 describe-instances
R | aws --profile prod --output json ec2 describe-instances --query Reservations[].Instances[].InstanceId
R | aws ec2 describe-instances --filters Name=tag:Name,Values=delete-me
D | aws ec2 terminate-instances --instance-ids i-0abc
M | aws ec2 stop-instances --instance-ids i-0abc
M | aws ec2 start-instances --instance-ids i-0abc
M | aws ec2 create-snapshot --volume-id vol-1
D | aws ec2 revoke-security-group-ingress --group-id sg-1 --protocol tcp --port 22 --cidr 0.0.0.0/0
D | aws ec2 release-address --allocation-id eipalloc-1
R | aws ec2 wait instance-running --instance-ids i-0abc
R | aws ec2 help
R | aws ec2 terminate-instances help
R | aws logs tail /aws/lambda/checkout --follow
R | aws logs filter-log-events --log-group-name /aws/lambda/checkout --filter-pattern ERROR
R | aws logs get-log-events --log-group-name g --log-stream-name s
R | aws logs start-query --log-group-name g --start-time 1 --end-time 2 --query-string fields
D | aws logs delete-log-group --log-group-name g
R | aws iam list-users
D | aws iam delete-user --user-name bob
M | aws iam detach-role-policy --role-name r --policy-arn arn
R | aws sts get-caller-identity
M | aws secretsmanager get-secret-value --secret-id prod/db
M | aws ecr get-login-password
D | aws ecr batch-delete-image --repository-name r --image-ids imageTag=old
R | aws ssm get-parameter --name /app/url
M | aws ssm get-parameter --name /app/db-password --with-decryption
D | aws ssm send-command --document-name AWS-RunShellScript --targets Key=tag:role,Values=web
R | aws dynamodb scan --table-name orders
R | aws dynamodb query --table-name orders --key-condition-expression pk=:p
M | aws dynamodb put-item --table-name orders --item file://item.json
D | aws rds delete-db-instance --db-instance-identifier db1 --skip-final-snapshot
R | aws cloudformation describe-stacks
D | aws cloudformation delete-stack --stack-name app
M | aws lambda invoke --function-name f out.json
D | aws sqs purge-queue --queue-url https://sqs/q
D | aws kms schedule-key-deletion --key-id k
M | aws ecs update-service --cluster c --service s --force-new-deployment
R | aws configure list
R | aws configure get region
M | aws configure get aws_secret_access_key
M | aws configure set region eu-west-1
M | aws eks update-kubeconfig --name prod
D | aws -- ec2 terminate-instances --instance-ids i-0abc
D | aws ec2 -- terminate-instances --instance-ids i-0abc
R | aws ec2

# az
R | az vm list
R | az vm list -g rg --output table
R | az vm list --debug
R | az vm show -g rg -n delete-me
D | az vm delete -g rg -n vm1 --yes
M | az vm start -g rg -n vm1
M | az vm deallocate -g rg -n vm1
D | az vm reimage -g rg -n vm1
M | az vm open-port -g rg -n vm1 --port 80
R | az vm run-command list -g rg --vm-name vm1
D | az vm run-command invoke -g rg -n vm1 --command-id RunShellScript --scripts "ls /"
R | az group list
D | az group delete --name rg --yes --no-wait
R | az group exists -n rg
R | az account show
M | az account get-access-token
R | az aks list
M | az aks get-credentials -g rg -n prod
M | az storage account keys list -g rg -n sa
R | az keyvault secret list --vault-name kv
M | az keyvault secret show --vault-name kv --name db-password
M | az keyvault set-policy -n kv --upn a@b.c --secret-permissions get list
R | az monitor activity-log list --offset 1h
R | az monitor log-analytics query -w ws --analytics-query AzureActivity
R | az webapp log tail -n app -g rg
D | az lock delete --name l -g rg
D | az network nsg rule delete -g rg --nsg-name n -n r
R | az find "delete vm"
R | az version
R | az vm delete --help

# scw
R | scw instance server list
R | scw -p prod instance server list zone=fr-par-1
R | scw instance server list name=delete-me
R | scw instance server get 11111111-1111-1111-1111-111111111111
D | scw instance server delete 11111111-1111-1111-1111-111111111111 with-volumes=all
D | scw instance server terminate 11111111-1111-1111-1111-111111111111
M | scw instance server stop 11111111-1111-1111-1111-111111111111
M | scw instance server reboot 11111111-1111-1111-1111-111111111111
M | scw instance server create type=DEV1-S image=ubuntu_jammy
D | scw instance server ssh 11111111-1111-1111-1111-111111111111
R | scw instance server wait 11111111-1111-1111-1111-111111111111
D | scw instance server stop 11111111-1111-1111-1111-111111111111 force-shutdown=true
R | scw k8s cluster list
M | scw k8s kubeconfig get 11111111-1111-1111-1111-111111111111
R | scw rdb backup list
R | scw instance snapshot list
D | scw registry tag delete 11111111-1111-1111-1111-111111111111
D | scw rdb instance delete 11111111-1111-1111-1111-111111111111
R | scw object bucket list
M | scw config dump
R | scw config get default-organization-id
M | scw config get secret-key
R | scw info
M | scw info show-secret=true
M | scw secret version access 11111111-1111-1111-1111-111111111111 revision=latest
R | scw version
R | scw instance server delete --help

# tailscale
R | tailscale status
R | tailscale status --json
R | tailscale --socket /var/run/tailscale/tailscaled.sock status
R | tailscale ip -4
R | tailscale ping db-1
R | tailscale netcheck
R | tailscale whois 100.64.0.1
R | tailscale version
M | tailscale up --accept-routes
D | tailscale up --force-reauth
M | tailscale set --advertise-exit-node
D | tailscale down
D | tailscale logout
D | tailscale ssh root@db-1 uptime
D | tailscale ssh root@db-1 ls --help
R | tailscale up --help
R | tailscale serve status
M | tailscale serve --bg 3000
M | tailscale funnel 443 on
R | tailscale dns status
R | tailscale exit-node list
R | tailscale lock status
D | tailscale lock remove tlpub:abc
R | tailscale switch --list
M | tailscale switch work.example.com
M | tailscale file cp report.txt db-1:
M | tailscale frobnicate

# ovh
R | ovh cloud instance list --cloud-project p
R | ovh cloud instance get 0a1b2c
D | ovh cloud instance delete 0a1b2c
M | ovh cloud instance reboot 0a1b2c
M | ovh cloud instance start 0a1b2c
D | ovh cloud instance reinstall 0a1b2c
M | ovh cloud instance set-flavor 0a1b2c b2-7
R | ovh domain list
R | ovh domain-name list
R | ovh domain-zone get example.com
R | ovh vps list --json
R | ovh -f id vps list
R | ovh vps list-tasks vps-1
D | ovh vps terminate vps-1
D | ovh vps confirm-termination vps-1
M | ovh vps get-console-url vps-1
M | ovh baremetal ipmi get-access ns1
M | ovh cloud kube kubeconfig generate k1
D | ovh cloud kube restart k1 --force
D | ovh cloud storage-s3 bulk-delete bucket
M | ovh cloud instance snapshot create 0a1b2c
M | ovh config show
M | ovh login
R | ovh version
R | ovh cloud instance delete --help
R | ovh baremetal list --filter name=~"delete"

# kubectl
R | kubectl get pods
R | kubectl -n prod get pods
R | kubectl get pods -n prod -o wide
R | kubectl get pod delete-me
R | kubectl get pods -A --field-selector=status.phase=Failed
R | kubectl --kubeconfig /tmp/kube get nodes
R | kubectl describe pod delete
R | kubectl logs -f deploy/api --since 10m
R | kubectl logs api-7d9 -c app --previous
R | kubectl top pods -n prod
R | kubectl explain deployment.spec
R | kubectl api-resources
R | kubectl version --client
R | kubectl cluster-info
R | kubectl auth can-i delete pods
R | kubectl events -n prod
R | kubectl wait --for=condition=Ready pod/api
R | kubectl rollout status deploy/api
R | kubectl rollout history deploy/api
M | kubectl rollout restart deploy/api
M | kubectl rollout undo deploy/api
R | kubectl config view
M | kubectl config view --raw
R | kubectl config get-contexts
R | kubectl config current-context
M | kubectl config use-context prod
M | kubectl config set-context --current --namespace=prod
D | kubectl config delete-context old
R | kubectl get secrets -n prod
M | kubectl get secret db -o yaml
M | kubectl get secret/db -ojsonpath={.data.password}
R | kubectl describe secret db
D | kubectl delete pod api-7d9
D | kubectl --context staging delete pod get
D | kubectl delete pod api-7d9 --grace-period=0 --force
D | kubectl drain node-1 --ignore-daemonsets
M | kubectl apply -f deploy.yaml
D | kubectl apply -f manifests/ --prune -l app=api
R | kubectl apply view-last-applied deploy/api
D | kubectl replace --force -f deploy.yaml
M | kubectl scale deploy/api --replicas=3
M | kubectl cordon node-1
M | kubectl label pod api env=prod --overwrite
M | kubectl annotate pod api note="hello world"
M | kubectl patch deploy api -p '{"spec":{"replicas":2}}'
M | kubectl edit deploy api
M | kubectl set image deploy/api app=api:v2
D | kubectl exec -it api-7d9 -- sh
D | kubectl exec api-7d9 -- cat /etc/hosts --help
D | kubectl attach api-7d9
D | kubectl debug node/node-1 -it --image=busybox
M | kubectl cp api-7d9:/tmp/dump ./dump
M | kubectl port-forward svc/api 8080:80
M | kubectl proxy
R | kubectl delete --help
R | kubectl help delete
M | kubectl krew install ctx
M | kubectl krew --help
D | kubectl -- delete pod api-7d9
M | kubectl -- get pods
M | kubectl rollout -- restart deploy/api
R | kubectl rollout
"#;

    /// The rows of [`TABLE`] as `(cli, command, class)`.
    fn table() -> Vec<(Cli, &'static str, Class)> {
        TABLE
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                let (class, command) = line.split_once(" | ").expect("a `CLASS | COMMAND` row");
                let class = match class {
                    "R" => R,
                    "M" => M,
                    "D" => D,
                    other => panic!("unknown class {other:?} in {line:?}"),
                };
                let binary = command.split(' ').next().unwrap_or_default();
                let cli = Cli::ALL
                    .into_iter()
                    .find(|cli| cli.binary() == binary)
                    .expect("a row starts with a known binary");
                (cli, command, class)
            })
            .collect()
    }

    fn words(line: &str) -> Vec<String> {
        shell_words::split(line).expect("a test command parses")
    }

    #[test]
    fn every_table_row_has_its_class() {
        let mut wrong = Vec::new();
        for (cli, line, expected) in table() {
            let argv = words(line);
            assert_eq!(
                argv[0],
                cli.binary(),
                "row must start with its binary: {line}"
            );
            let got = classify(cli, &argv[1..]);
            if got != expected {
                wrong.push(format!("{line}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
    }

    #[test]
    fn the_table_covers_every_cli() {
        for cli in Cli::ALL {
            let rows = table().iter().filter(|(c, _, _)| *c == cli).count();
            assert!(rows >= 10, "{cli} has only {rows} rows");
        }
        assert!(table().len() >= 100);
    }

    #[test]
    fn check_agrees_with_classify_on_every_row() {
        let policy = Policy::default();
        for (cli, line, expected) in table() {
            let decision = check(cli, line, RunMode::Agent, &policy);
            assert_eq!(decision.class, Some(expected), "{line}");
            assert_eq!(decision.argv, words(line), "{line}");
            let verdict = match expected {
                R | M => Verdict::Allow,
                D => Verdict::Confirm,
            };
            assert_eq!(decision.verdict, verdict, "{line}: {}", decision.reason);
        }
    }

    const METACHARACTERS: &[(&str, &str)] = &[
        (";", "`;`"),
        ("&", "`&`"),
        ("&&", "`&`"),
        ("||", "`|`"),
        ("|", "`|`"),
        (">", "`>`"),
        ("<", "`<`"),
        ("`", "backtick"),
        ("$", "`$`"),
        ("\n", "newline"),
        ("\r", "carriage return"),
    ];
    const MODES: [RunMode; 3] = [RunMode::Ask, RunMode::Agent, RunMode::Background];

    #[test]
    fn every_metacharacter_is_refused_in_every_mode() {
        let policy = Policy::default();
        for &(meta, named) in METACHARACTERS {
            for mode in MODES {
                for command in [
                    format!("kubectl get pods {meta} rm -rf /"),
                    format!("gcloud compute instances list --filter=\"name{meta}x\""),
                    format!("aws s3 ls {meta}"),
                ] {
                    let cli = Cli::ALL
                        .into_iter()
                        .find(|c| command.starts_with(c.binary()))
                        .expect("a known binary");
                    let decision = check(cli, &command, mode, &policy);
                    assert_eq!(decision.verdict, Verdict::Refuse, "{command:?} in {mode:?}");
                    assert!(decision.argv.is_empty(), "{command:?}");
                    assert_eq!(decision.class, None, "{command:?}");
                    assert!(
                        decision.reason.contains(named),
                        "{command:?}: {}",
                        decision.reason
                    );
                }
            }
        }
    }

    #[test]
    fn blank_and_control_characters_are_refused() {
        let policy = Policy::default();
        for command in ["", "   ", "\t"] {
            let decision = check(Kubectl, command, RunMode::Agent, &policy);
            assert_eq!(decision.verdict, Verdict::Refuse);
            assert_eq!(decision.reason, "the command is empty");
        }
        let decision = check(Kubectl, "get pods\u{0}", RunMode::Agent, &policy);
        assert_eq!(decision.verdict, Verdict::Refuse);
        assert!(decision.reason.contains("U+0000"), "{}", decision.reason);
    }

    #[test]
    fn ask_mode_allows_only_read_only_commands() {
        let policy = Policy::default();
        let allowed = check(Aws, "aws s3 ls", RunMode::Ask, &policy);
        assert_eq!(allowed.verdict, Verdict::Allow);
        assert_eq!(allowed.class, Some(R));
        assert_eq!(allowed.reason, "`aws s3 ls` only reads");

        let deleting = check(Aws, "aws s3 rm s3://b/k", RunMode::Ask, &policy);
        assert_eq!(deleting.verdict, Verdict::Refuse);
        assert_eq!(deleting.class, Some(D));
        assert_eq!(
            deleting.reason,
            "ask mode allows only read-only commands; `aws s3 rm` deletes"
        );

        let changing = check(
            Kubectl,
            "scale deploy/api --replicas=2",
            RunMode::Ask,
            &policy,
        );
        assert_eq!(changing.verdict, Verdict::Refuse);
        assert_eq!(changing.class, Some(M));
        assert!(changing
            .reason
            .contains("`kubectl scale` changes resources"));

        let secret = check(Gcloud, "auth print-access-token", RunMode::Ask, &policy);
        assert_eq!(secret.verdict, Verdict::Refuse);
        assert!(
            secret.reason.contains("reveals credentials"),
            "{}",
            secret.reason
        );
    }

    #[test]
    fn agent_mode_runs_changes_and_confirms_destruction() {
        let policy = Policy::default();
        let changing = check(Az, "az vm start -g rg -n vm1", RunMode::Agent, &policy);
        assert_eq!(changing.verdict, Verdict::Allow);
        assert_eq!(changing.class, Some(M));

        let deleting = check(Az, "az group delete -n rg --yes", RunMode::Agent, &policy);
        assert_eq!(deleting.verdict, Verdict::Confirm);
        assert_eq!(deleting.class, Some(D));
        assert_eq!(
            deleting.reason,
            "`az group delete` deletes, so it needs explicit confirmation"
        );

        let forced = check(Aws, "aws s3 rb s3://b --force", RunMode::Agent, &policy);
        assert_eq!(forced.verdict, Verdict::Confirm);

        let executing = check(Kubectl, "exec api -- ls", RunMode::Agent, &policy);
        assert_eq!(executing.verdict, Verdict::Confirm);
        assert!(executing.reason.contains("runs arbitrary commands"));
    }

    #[test]
    fn background_runs_refuse_everything_but_reads() {
        let policy = Policy::default();
        let reading = check(
            Scw,
            "scw instance server list",
            RunMode::Background,
            &policy,
        );
        assert_eq!(reading.verdict, Verdict::Allow);
        for (cli, command) in [
            (Scw, "scw instance server stop abc"),
            (Scw, "scw instance server delete abc"),
            (Tailscale, "tailscale down"),
            (Ovh, "ovh vps reboot vps-1"),
        ] {
            let decision = check(cli, command, RunMode::Background, &policy);
            assert_eq!(decision.verdict, Verdict::Refuse, "{command}");
            assert!(
                decision
                    .reason
                    .starts_with("background runs allow only read-only commands; "),
                "{}",
                decision.reason
            );
        }
    }

    fn policy(allow: &[&str], deny: &[&str]) -> Policy {
        let owned = |list: &[&str]| list.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        Policy::new(&owned(allow), &owned(deny)).expect("valid patterns")
    }

    #[test]
    fn deny_beats_allow_and_everything_else() {
        let policy = policy(&["^kubectl get "], &["secrets?"]);
        let decision = check(Kubectl, "get secrets -n prod", RunMode::Agent, &policy);
        assert_eq!(decision.verdict, Verdict::Refuse);
        assert_eq!(decision.argv, words("kubectl get secrets -n prod"));
        assert_eq!(decision.class, Some(R));
        assert!(
            decision.reason.contains("`secrets?`"),
            "{}",
            decision.reason
        );
        assert!(
            decision.reason.contains("deny pattern"),
            "{}",
            decision.reason
        );

        let allowed = check(Kubectl, "get pods -n prod", RunMode::Agent, &policy);
        assert_eq!(allowed.verdict, Verdict::Allow);
    }

    #[test]
    fn deny_matches_the_normalised_line_with_the_binary() {
        let policy = policy(&[], &["^gcloud compute instances delete "]);
        // Extra spaces, no binary, and a binary path all normalise to the same line.
        for command in [
            "compute   instances delete vm1",
            "/usr/lib/google-cloud-sdk/bin/gcloud compute instances delete vm1",
        ] {
            let decision = check(Gcloud, command, RunMode::Agent, &policy);
            assert_eq!(decision.verdict, Verdict::Refuse, "{command}");
            assert_eq!(
                decision.command_line(),
                "gcloud compute instances delete vm1"
            );
        }
    }

    #[test]
    fn a_non_empty_allow_list_refuses_unmatched_commands() {
        let policy = policy(
            &["^kubectl (get|describe|logs) ", "^kubectl delete pod "],
            &[],
        );
        let unmatched = check(Kubectl, "top pods", RunMode::Agent, &policy);
        assert_eq!(unmatched.verdict, Verdict::Refuse);
        assert_eq!(
            unmatched.reason,
            "`kubectl top` is not in this organisation's allow-list"
        );
        let matched = check(Kubectl, "logs api", RunMode::Agent, &policy);
        assert_eq!(matched.verdict, Verdict::Allow);
        // Being allowed does not skip the mode rules.
        let ask = check(Kubectl, "delete pod api", RunMode::Ask, &policy);
        assert_eq!(ask.verdict, Verdict::Refuse);
        assert!(ask.reason.starts_with("ask mode allows only read-only"));
        let agent = check(Kubectl, "delete pod api", RunMode::Agent, &policy);
        assert_eq!(agent.verdict, Verdict::Confirm);
    }

    #[test]
    fn another_program_as_argv0_is_refused() {
        let policy = Policy::default();
        for (cli, command, program) in [
            (Kubectl, "rm -rf /", "rm"),
            (Kubectl, "bash -c 'kubectl get pods'", "bash"),
            (Gcloud, "sh -c ls", "sh"),
            (Aws, "python exploit.py", "python"),
            (Az, "curl https://example.com", "curl"),
            (Gcloud, "aws s3 ls", "aws"),
            (Aws, "gsutil ls", "gsutil"),
            (Tailscale, "/bin/sh -c id", "/bin/sh"),
            (Scw, "kubectl get pods", "kubectl"),
        ] {
            let decision = check(cli, command, RunMode::Agent, &policy);
            assert_eq!(decision.verdict, Verdict::Refuse, "{command}");
            assert!(decision.argv.is_empty(), "{command}");
            assert_eq!(
                decision.reason,
                format!(
                    "only {} commands can run through this tool; `{program}` is another program",
                    cli.binary()
                )
            );
        }
        let env = check(Aws, "AWS_PROFILE=prod aws s3 ls", RunMode::Agent, &policy);
        assert_eq!(env.verdict, Verdict::Refuse);
        assert!(env.reason.contains("environment assignments"));
    }

    #[test]
    fn a_cli_command_named_like_a_program_is_not_refused() {
        let policy = Policy::default();
        let cp = check(Kubectl, "cp api:/tmp/x ./x", RunMode::Agent, &policy);
        assert_eq!(cp.verdict, Verdict::Allow);
        assert_eq!(cp.argv, words("kubectl cp api:/tmp/x ./x"));
        let ssh = check(Tailscale, "ssh db-1 uptime", RunMode::Agent, &policy);
        assert_eq!(ssh.verdict, Verdict::Confirm);
        assert_eq!(ssh.argv[0], "tailscale");
    }

    #[test]
    fn the_binary_is_dropped_or_added_so_argv_starts_with_it() {
        let policy = Policy::default();
        for command in [
            "get pods",
            "kubectl get pods",
            "/usr/local/bin/kubectl get pods",
        ] {
            let decision = check(Kubectl, command, RunMode::Ask, &policy);
            assert_eq!(decision.argv, vec!["kubectl", "get", "pods"], "{command}");
        }
        let ovh = check(Ovh, "ovhcloud vps list", RunMode::Ask, &policy);
        assert_eq!(ovh.argv, vec!["ovh", "vps", "list"]);
        let flag_first = check(Aws, "--region eu-west-1 s3 ls", RunMode::Ask, &policy);
        assert_eq!(flag_first.argv, words("aws --region eu-west-1 s3 ls"));
        assert_eq!(flag_first.verdict, Verdict::Allow);
    }

    #[test]
    fn unbalanced_quotes_are_refused() {
        let policy = Policy::default();
        for (cli, command) in [
            (Gcloud, "gcloud compute instances list --filter=\"name=web"),
            (Kubectl, "kubectl annotate pod api note='unterminated"),
        ] {
            let decision = check(cli, command, RunMode::Agent, &policy);
            assert_eq!(decision.verdict, Verdict::Refuse, "{command}");
            assert!(decision.argv.is_empty());
            assert_eq!(decision.reason, "the command has an unbalanced quote");
        }
    }

    #[test]
    fn quoted_arguments_stay_one_argv_entry() {
        let policy = Policy::default();
        let decision = check(
            Gcloud,
            "gcloud logging read \"resource.type=gce_instance AND severity=ERROR\" --limit 5",
            RunMode::Ask,
            &policy,
        );
        assert_eq!(decision.verdict, Verdict::Allow);
        assert_eq!(
            decision.argv,
            vec![
                "gcloud",
                "logging",
                "read",
                "resource.type=gce_instance AND severity=ERROR",
                "--limit",
                "5"
            ]
        );
        let annotate = check(
            Kubectl,
            "annotate pod api 'note=rolled back by on-call'",
            RunMode::Agent,
            &policy,
        );
        assert_eq!(annotate.argv[3], "api");
        assert_eq!(annotate.argv[4], "note=rolled back by on-call");
        assert_eq!(annotate.argv.len(), 5);
    }

    #[test]
    fn policy_new_rejects_an_invalid_regex_naming_the_pattern() {
        let error = Policy::new(&["^kubectl get".into()], &["(unclosed".into()])
            .expect_err("an invalid pattern is refused");
        assert_eq!(error.pattern, "(unclosed");
        assert!(!error.reason.is_empty());
        assert!(!error.reason.contains('\n'), "{}", error.reason);
        let message = error.to_string();
        assert!(
            message.starts_with("policy pattern \"(unclosed\" is not a valid regular expression: "),
            "{message}"
        );

        let empty = Policy::new(&[" ".into()], &[]).expect_err("an empty pattern is refused");
        assert_eq!(empty.pattern, " ");
        let long = "a".repeat(MAX_POLICY_PATTERN_LEN + 1);
        let too_long = Policy::new(&[], std::slice::from_ref(&long)).expect_err("too long");
        assert_eq!(too_long.pattern, long);
        let many: Vec<String> = (0..=MAX_POLICY_PATTERNS).map(|i| format!("p{i}")).collect();
        let too_many = Policy::new(&many, &[]).expect_err("too many");
        assert_eq!(too_many.pattern, format!("p{MAX_POLICY_PATTERNS}"));

        let fine = Policy::new(&["^aws s3 ls".into()], &["rm".into()]).expect("valid");
        assert_eq!(
            fine.allow_patterns().collect::<Vec<_>>(),
            vec!["^aws s3 ls"]
        );
        assert_eq!(fine.deny_patterns().collect::<Vec<_>>(), vec!["rm"]);
    }

    #[test]
    fn providers_map_to_the_cloud_clis_only() {
        for (provider, cli) in [
            ("gcloud", Gcloud),
            ("gcp", Gcloud),
            ("aws", Aws),
            ("az", Az),
            ("azure", Az),
            ("scw", Scw),
            ("scaleway", Scw),
            ("tailscale", Tailscale),
            ("ovh", Ovh),
            ("GCP", Gcloud),
        ] {
            assert_eq!(Cli::from_provider(provider), Some(cli), "{provider}");
        }
        assert_eq!(Cli::from_provider("kubectl"), None);
        assert_eq!(Cli::from_provider("digitalocean"), None);
        assert!(!Cli::CLOUD.contains(&Kubectl));
        assert_eq!(
            Cli::CLOUD.map(Cli::binary),
            ["gcloud", "aws", "az", "scw", "tailscale", "ovh"]
        );
        assert_eq!(Kubectl.binary(), "kubectl");
    }

    #[test]
    fn verbs_in_flag_values_and_resource_names_do_not_count() {
        let class = |cli: Cli, line: &str| classify(cli, &words(line)[1..]);
        assert_eq!(class(Kubectl, "kubectl get pods -l app=delete"), R);
        assert_eq!(class(Kubectl, "kubectl -n delete get pods"), R);
        assert_eq!(class(Kubectl, "kubectl --namespace get delete pod x"), D);
        assert_eq!(class(Aws, "aws --query delete ec2 describe-instances"), R);
        assert_eq!(
            class(Gcloud, "gcloud --format list compute instances delete vm"),
            D
        );
        // An unknown flag swallows the next word: fail closed, it is not a verb.
        assert_eq!(class(Kubectl, "kubectl --mystery get delete pod x"), D);
        assert_eq!(
            class(Gcloud, "gcloud compute instances --mystery delete vm"),
            D
        );
        assert_eq!(class(Az, "az vm --mystery delete -n vm1"), D);
    }

    #[test]
    fn force_is_destructive_but_dash_f_and_false_are_not() {
        let class = |cli: Cli, line: &str| classify(cli, &words(line)[1..]);
        assert_eq!(class(Kubectl, "kubectl apply -f app.yaml --force"), D);
        assert_eq!(class(Kubectl, "kubectl apply -f app.yaml --force=true"), D);
        assert_eq!(class(Kubectl, "kubectl apply -f app.yaml --force=false"), M);
        assert_eq!(class(Kubectl, "kubectl apply -f app.yaml"), M);
        assert_eq!(
            class(Kubectl, "kubectl replace --grace-period 0 -f app.yaml"),
            D
        );
        assert_eq!(class(Kubectl, "kubectl get pods --force"), D);
        let reason = check(
            Kubectl,
            "apply -f a.yaml --force",
            RunMode::Agent,
            &Policy::default(),
        )
        .reason;
        assert_eq!(
            reason,
            "`kubectl apply` uses `--force`, so it needs explicit confirmation"
        );
    }
}
