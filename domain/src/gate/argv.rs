//! Steps 1 and 2: from the raw line to the argv that runs.

use super::assessment::Kind;
use super::az::AZ;
use super::dispatch::flag_spec;
use super::flags::Parsed;
use super::gcloud::GCLOUD;
use super::kubectl::kubectl_knows;
use super::scw_ovh_tailscale::{tailscale_knows, OVH, SCW};
use super::shell::{first_active_character, refused_character};
use super::Cli;

// ----------------------------------------------------------------------------------------------
// Steps 1 and 2: the raw line and argv
// ----------------------------------------------------------------------------------------------

/// Programs that are never a subcommand of any of the CLIs: refused outright as the first word
/// (when [`OTHER_PROGRAMS`] has not already refused it), and as the first command word after
/// the binary and its flags (`aws iptables -F` would otherwise be read as an aws service), in
/// every mode. Each family says why in the reason.
const NEVER_SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "a shell",
        &[
            "sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "busybox",
        ],
    ),
    (
        "an interpreter",
        &[
            "python", "python2", "python3", "perl", "ruby", "node", "php", "lua",
        ],
    ),
    (
        "a compiler or linker",
        &[
            "gcc", "g++", "cc", "c++", "clang", "clang++", "ld", "as", "rustc", "tcc", "make",
            "cmake",
        ],
    ),
    (
        "a dynamic loader",
        &[
            "ld.so",
            "ld-linux.so.2",
            "ld-linux-x86-64.so.2",
            "ld-linux-aarch64.so.1",
            "ld-musl-x86_64.so.1",
        ],
    ),
    (
        "a user or privilege management tool",
        &[
            "useradd", "usermod", "userdel", "adduser", "deluser", "groupadd", "groupmod",
            "passwd", "chpasswd", "visudo", "sudo", "su", "doas", "setcap", "capsh",
        ],
    ),
    (
        "a firewall tool",
        &[
            "iptables",
            "ip6tables",
            "iptables-restore",
            "nft",
            "ufw",
            "firewall-cmd",
        ],
    ),
    (
        "a namespace or root escape tool",
        &["nsenter", "unshare", "chroot", "pivot_root"],
    ),
    ("a shell builtin", &["history", "export", "unset", "alias"]),
    (
        "a host security tool",
        &[
            "certutil",
            "auditctl",
            "setenforce",
            "ssh-keygen",
            "ssh-copy-id",
            "mkfifo",
        ],
    ),
];

/// What kind of program `name` is, if it is never a CLI's subcommand.
fn never_a_subcommand(name: &str) -> Option<&'static str> {
    NEVER_SUBCOMMANDS
        .iter()
        .find(|(_, names)| names.contains(&name))
        .map(|&(what, _)| what)
}

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
    if let Some(c) = first_active_character(command) {
        return Err(refused_character(c));
    }
    let words = shell_words::split(command)
        .map_err(|_| "the command has an unbalanced quote".to_owned())?;
    let Some(first) = words.first() else {
        return Err("the command is empty".into());
    };
    let binary = cli.binary();
    let first_name = first.rsplit('/').next().unwrap_or(first);
    let plugin = kubectl_plugin_verb(cli, first_name);
    let args = match head(cli, first) {
        _ if plugin.is_some() => &words[1..],
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
    for word in command_word_candidates(cli, args) {
        let word = word.rsplit('/').next().unwrap_or(&word);
        if let Some(what) = never_a_subcommand(word).filter(|_| !has_top_level_command(cli, word)) {
            return Err(format!(
                "`{word}` is {what}, never a {binary} command; only {binary} commands can run \
                 through this tool"
            ));
        }
    }
    let mut argv = Vec::with_capacity(args.len() + 2);
    argv.push(binary.to_owned());
    argv.extend(plugin);
    argv.extend(args.iter().cloned());
    Ok(argv)
}

/// The words the CLI may read as its first command word: the first positional after the
/// global flags (`aws --region eu-west-1 iptables -F`), and any word a flag the gate does not
/// know took before it (it may be that positional). A `--` before any positional is read as if
/// it were not there, as step 5 does.
fn command_word_candidates(cli: Cli, args: &[String]) -> Vec<String> {
    let parsed = Parsed::new(args, flag_spec(cli));
    if let (None, Some(at)) = (parsed.positionals.first(), parsed.dashdash) {
        let mut without = args.to_vec();
        without.remove(at);
        return command_word_candidates(cli, &without);
    }
    let first = parsed.positionals.first().copied();
    let before = first.map_or(usize::MAX, |(at, _)| at);
    parsed
        .flags
        .iter()
        .filter(|flag| flag.guessed && flag.index < before)
        .filter_map(|flag| flag.value)
        .chain(first.map(|(_, word)| word))
        .map(str::to_owned)
        .collect()
}

/// `kubectl-node_shell` run directly is the plugin kubectl runs for `kubectl node-shell`: the
/// verb it stands for, so the plugin is judged as kubectl would run it.
fn kubectl_plugin_verb(cli: Cli, name: &str) -> Option<String> {
    let word = name
        .strip_prefix("kubectl-")
        .filter(|_| cli == Cli::Kubectl)?;
    (!word.is_empty()).then(|| word.replace('_', "-"))
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
