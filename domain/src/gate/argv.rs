//! Steps 1 and 2: from the raw line to the argv that runs.

use super::assessment::Kind;
use super::az::AZ;
use super::gcloud::GCLOUD;
use super::kubectl::kubectl_knows;
use super::scw_ovh_tailscale::{tailscale_knows, OVH, SCW};
use super::Cli;

// ----------------------------------------------------------------------------------------------
// Steps 1 and 2: the raw line and argv
// ----------------------------------------------------------------------------------------------

/// Characters a shell would act on. Commands run without a shell, so they could only be an
/// attempt to chain, redirect or substitute.
pub(super) const SHELL_METACHARACTERS: [char; 9] = [';', '&', '|', '>', '<', '`', '$', '\n', '\r'];

/// Programs that are not a cloud CLI, refused as argv[0] (unless the CLI has a command of the
/// same name, like `kubectl cp` or `tailscale ssh`).
pub(super) const OTHER_PROGRAMS: &[&str] = &[
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
pub(super) fn parse_command(cli: Cli, command: &str) -> Result<Vec<String>, String> {
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

pub(super) fn refused_character(c: char) -> String {
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
pub(super) enum Head {
    /// The CLI itself (`gcloud`, `/usr/bin/gcloud`): dropped.
    Binary,
    /// The first argument of a command given without its binary (`compute instances list`).
    Argument,
    /// Another program: refused.
    Program(String),
    /// `NAME=value`, a shell environment assignment: refused.
    Assignment,
}

pub(super) fn head(cli: Cli, word: &str) -> Head {
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

pub(super) fn is_environment_assignment(word: &str) -> bool {
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
pub(super) fn has_top_level_command(cli: Cli, word: &str) -> bool {
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
