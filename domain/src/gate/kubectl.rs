//! kubectl's vocabulary.

use super::assessment::{shown, Assessment, Kind};
use super::flags::{FlagSpec, FlagStyle, Parsed, HELP_FLAGS};
use super::vocabulary::is_destructive_word;

// ----------------------------------------------------------------------------------------------
// kubectl: `kubectl [flags] VERB [SUBVERB] [args]`
// ----------------------------------------------------------------------------------------------

pub(super) const KUBECTL_FLAGS: FlagSpec = FlagSpec {
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

pub(super) const KUBECTL_READS: &[&str] = &[
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
pub(super) const KUBECTL_CHANGES: &[&str] = &[
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
pub(super) const KUBECTL_DELETES: &[&str] = &["delete", "drain"];
/// `exec` and `attach` run whatever the command says inside a production container, and `debug`
/// starts a container of any image next to one (or a privileged pod on a node): they can do
/// anything, including destroying data, so a human confirms them.
pub(super) const KUBECTL_EXECUTES: &[&str] = &["exec", "attach", "debug"];
/// Commands with subcommands, and which of those only read.
pub(super) const KUBECTL_GROUPS: &[(&str, &[&str])] = &[
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

pub(super) fn kubectl_knows(verb: &str) -> bool {
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

pub(super) fn assess_kubectl(parsed: &Parsed<'_>) -> Assessment {
    let words = parsed.words();
    let Some(&verb) = words.first() else {
        return Assessment::bare("kubectl", parsed);
    };
    let group = KUBECTL_GROUPS.iter().find(|(name, _)| *name == verb);
    let sub = group.and(words.get(1).copied());
    let command = shown("kubectl", &words[..1 + usize::from(sub.is_some())]);
    // A verb kubectl does not know runs a plugin, which gets `--help` as a plain argument.
    if kubectl_knows(verb) && parsed.help_flag(HELP_FLAGS).is_some() {
        return Assessment::new(Kind::Help, command);
    }
    // `kubectl apply -f x.yaml` applies; any other group without its subcommand (`kubectl
    // rollout`, or `kubectl rollout --mystery undo`, whose subcommand an unknown flag took) is
    // a usage error at best, and only `help` and `--help` are read as help.
    if group.is_some() && sub.is_none() && verb != "apply" {
        return Assessment::new(Kind::Unknown, command);
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
    } else if verb.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        // kubectl looks for `kubectl-<verb>` on PATH; whether one is installed there or not,
        // the gate cannot know what it does.
        Kind::Plugin
    } else {
        Kind::Unknown
    };
    Assessment::new(kind, command)
}

/// `kubectl get secret … -o yaml|json|jsonpath=…` prints the secret's data; the default table
/// (and `-o wide|name`) prints only names. `--raw /api/…/secrets` prints them too.
pub(super) fn kubectl_get_reveals_secrets(parsed: &Parsed<'_>, words: &[&str]) -> bool {
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
