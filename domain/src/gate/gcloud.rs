//! gcloud's vocabulary.

use super::assessment::Kind;
use super::flags::{FlagSpec, FlagStyle};
use super::vocabulary::Vocabulary;

pub(super) const GCLOUD: Vocabulary = Vocabulary {
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
