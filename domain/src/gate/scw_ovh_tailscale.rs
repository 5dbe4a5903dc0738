//! The vocabularies of the smaller clouds: tailscale (a verb-first CLI of its own), scw and ovh
//! (read through the shared [`Vocabulary`]).

use super::assessment::{shown, Assessment, Kind};
use super::aws::mentions_secret;
use super::flags::{is_false, FlagSpec, FlagStyle, Parsed, HELP_FLAGS};
use super::vocabulary::{assess_by_vocabulary, is_destructive_word, Vocabulary};

// ----------------------------------------------------------------------------------------------
// tailscale: `tailscale [--socket S] VERB [SUBVERB] [flags] [args]`
// ----------------------------------------------------------------------------------------------

pub(super) const TAILSCALE_FLAGS: FlagSpec = FlagSpec {
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

pub(super) const TAILSCALE_READS: &[&str] = &[
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
pub(super) const TAILSCALE_CHANGES: &[&str] = &[
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
pub(super) const TAILSCALE_DELETES: &[&str] = &["down", "logout"];
/// `ssh` runs a remote command; `nc` pipes raw bytes to any port on the tailnet.
pub(super) const TAILSCALE_EXECUTES: &[&str] = &["ssh", "nc"];
pub(super) const TAILSCALE_GROUPS: &[(&str, &[&str])] = &[
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

pub(super) fn tailscale_knows(verb: &str) -> bool {
    [
        TAILSCALE_READS,
        TAILSCALE_CHANGES,
        TAILSCALE_DELETES,
        TAILSCALE_EXECUTES,
    ]
    .iter()
    .any(|table| table.contains(&verb))
}

pub(super) fn assess_tailscale(parsed: &Parsed<'_>) -> Assessment {
    let words = parsed.words();
    let Some(&verb) = words.first() else {
        return Assessment::bare("tailscale", parsed);
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

pub(super) const SCW: Vocabulary = Vocabulary {
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

pub(super) const OVH: Vocabulary = Vocabulary {
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

/// scw's `key=value` arguments can reveal secrets or create tokens.
pub(super) fn assess_scw(parsed: &Parsed<'_>) -> Assessment {
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
