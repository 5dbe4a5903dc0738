//! Step 5 against the mode, and steps 3 and 4: the policy.

use super::*;

use Class::{Destructive as D, Mutating as M, ReadOnly as R};
use Cli::{Aws, Az, Gcloud, Kubectl, Ovh, Scw, Tailscale};

use super::classification_table::words;

pub(super) const MODES: [RunMode; 3] = [RunMode::Ask, RunMode::Agent, RunMode::Background];

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
