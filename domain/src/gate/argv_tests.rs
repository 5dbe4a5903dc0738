//! Steps 1 and 2: what reaches argv, and what is refused before.

use super::*;

use Cli::{Aws, Az, Gcloud, Kubectl, Ovh, Scw, Tailscale};

use super::classification_table::words;
use super::tests::MODES;

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

#[test]
fn every_metacharacter_is_refused_in_every_mode() {
    let policy = Policy::default();
    for &(meta, named) in METACHARACTERS {
        for mode in MODES {
            for command in [
                format!("kubectl get pods {meta} rm -rf /"),
                format!("gcloud compute instances list --filter=name{meta}x"),
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
fn metacharacters_in_quotes_are_one_argument_except_expansions() {
    let policy = Policy::default();
    for &(meta, named) in METACHARACTERS {
        for mode in MODES {
            let command = format!("gcloud compute instances list --filter=\"name{meta}x\"");
            let decision = check(Gcloud, &command, mode, &policy);
            // A shell still expands `$` and backticks in double quotes, and a newline or
            // carriage return is refused anywhere.
            if ["`", "$", "\n", "\r"].contains(&meta) {
                assert_eq!(decision.verdict, Verdict::Refuse, "{command:?} in {mode:?}");
                assert!(decision.argv.is_empty(), "{command:?}");
                assert!(decision.reason.contains(named), "{}", decision.reason);
            } else {
                assert_eq!(decision.verdict, Verdict::Allow, "{command:?} in {mode:?}");
                assert_eq!(
                    decision.argv,
                    [
                        "gcloud",
                        "compute",
                        "instances",
                        "list",
                        &format!("--filter=name{meta}x")
                    ],
                );
            }
        }
        // Single quotes make everything but a line break literal.
        let single = format!("aws logs filter-log-events --filter-pattern 'ERROR{meta}x'");
        let decision = check(Aws, &single, RunMode::Ask, &policy);
        if ["\n", "\r"].contains(&meta) {
            assert_eq!(decision.verdict, Verdict::Refuse, "{single:?}");
        } else {
            assert_eq!(
                decision.verdict,
                Verdict::Allow,
                "{single:?}: {}",
                decision.reason
            );
            assert_eq!(
                decision.argv.last().map(String::as_str),
                Some(&*format!("ERROR{meta}x"))
            );
        }
    }
    // Upstream's case: one argv element holding a `;`.
    let upstream = check(
        Aws,
        r#"aws logs filter-log-events --log-group-name app --filter-pattern "ERROR;timeout""#,
        RunMode::Ask,
        &policy,
    );
    assert_eq!(upstream.verdict, Verdict::Allow, "{}", upstream.reason);
    assert_eq!(
        upstream.argv.last().map(String::as_str),
        Some("ERROR;timeout")
    );
    // A quote closed before the operator leaves it where a shell sees it.
    let closed = check(Aws, r#"aws s3 ls "bucket";id"#, RunMode::Agent, &policy);
    assert_eq!(closed.verdict, Verdict::Refuse);
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
