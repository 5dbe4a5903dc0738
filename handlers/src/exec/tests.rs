use super::*;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A unique scratch directory, removed on drop (also when the test fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self(
            std::env::temp_dir().join(format!("aurora-exec-test-{}-{tag}-{n}", std::process::id())),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spec(dir: &Scratch, argv: &[&str]) -> ExecSpec {
    ExecSpec {
        argv: argv.iter().map(|arg| (*arg).to_owned()).collect(),
        env: Vec::new(),
        cwd: dir.0.join("session"),
        timeout: Duration::from_secs(20),
        secrets: Vec::new(),
        output_cap: OUTPUT_CAP,
    }
}

pub(super) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[tokio::test]
async fn empty_command_is_rejected() {
    let dir = Scratch::new("empty");
    assert!(matches!(run(spec(&dir, &[])).await, Err(ExecError::Empty)));
    assert!(matches!(
        run(spec(&dir, &[""])).await,
        Err(ExecError::Empty)
    ));
}

#[tokio::test]
async fn missing_binary_is_not_found() {
    let dir = Scratch::new("missing");
    let err = run(spec(&dir, &["aurora-no-such-binary-4f9c", "--version"]))
        .await
        .unwrap_err();
    match &err {
        ExecError::NotFound { program } => assert_eq!(program, "aurora-no-such-binary-4f9c"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "aurora-no-such-binary-4f9c is not installed on this host (not found on PATH)"
    );
}

#[tokio::test]
async fn successful_command_output() {
    let dir = Scratch::new("ok");
    let out = run(spec(&dir, &["printf", "%s|%s\n", "a b", "$HOME;*"]))
        .await
        .unwrap();
    // Arguments reach the program verbatim: no shell splitting, expansion or globbing.
    assert_eq!(out.stdout, "a b|$HOME;*\n");
    assert_eq!(out.stderr, "");
    assert_eq!(out.exit_code, Some(0));
    assert!(out.success());
    assert!(!out.truncated);
    assert_eq!(out.combined(), "a b|$HOME;*\n");
}

#[tokio::test]
async fn environment_is_cleared_and_allow_listed() {
    let dir = Scratch::new("env");
    let mut spec = spec(&dir, &["env"]);
    spec.env = vec![
        ("AURORA_REGION".to_owned(), "eu-west-1".to_owned()),
        ("AURORA_TEST_TOKEN".to_owned(), "tok-0123456789".to_owned()),
    ];
    let cwd = spec.cwd.clone();
    let out = run(spec).await.unwrap();
    assert!(out.success());

    let mut seen = HashSet::new();
    for line in out.stdout.lines() {
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // continuation of a multi-line value
        }
        assert!(
            PASSED_ENV.contains(&name)
                || ["HOME", "AURORA_REGION", "AURORA_TEST_TOKEN"].contains(&name),
            "unexpected variable {name} in the child's environment"
        );
        seen.insert(name.to_owned());
    }
    // Nothing else from our own environment leaked through (cargo sets plenty).
    for (name, _) in std::env::vars() {
        if !PASSED_ENV.contains(&name.as_str()) && name != "HOME" {
            assert!(!seen.contains(&name), "{name} leaked into the child");
        }
    }
    // Allow-listed variables are passed through with their values.
    if let Ok(path) = std::env::var("PATH") {
        assert!(out
            .stdout
            .lines()
            .any(|line| line == format!("PATH={path}")));
    }
    assert!(out
        .stdout
        .lines()
        .any(|line| line == format!("HOME={}", cwd.display())));
    // Injected config is visible; injected secrets are visible to the child but redacted.
    assert!(out
        .stdout
        .lines()
        .any(|line| line == "AURORA_REGION=eu-west-1"));
    assert!(out
        .stdout
        .lines()
        .any(|line| line == "AURORA_TEST_TOKEN=[REDACTED]"));
    assert!(!out.stdout.contains("tok-0123456789"));
}

#[tokio::test]
async fn injected_env_overrides_and_reaches_the_child() {
    let dir = Scratch::new("inject");
    let mut spec = spec(
        &dir,
        &[
            "sh",
            "-c",
            "printf '%s %s' \"$HOME\" \"$CLOUDSDK_CORE_PROJECT\"",
        ],
    );
    spec.env = vec![
        ("HOME".to_owned(), "/nonexistent-home".to_owned()),
        ("CLOUDSDK_CORE_PROJECT".to_owned(), "acme-prod".to_owned()),
    ];
    let out = run(spec).await.unwrap();
    assert_eq!(out.stdout, "/nonexistent-home acme-prod");
}

#[tokio::test]
async fn working_directory_is_created_and_used() {
    let dir = Scratch::new("cwd");
    let mut spec = spec(&dir, &["pwd"]);
    spec.cwd = dir.0.join("tenant-a").join("session-1");
    assert!(!spec.cwd.exists());
    let cwd = spec.cwd.clone();
    let out = run(spec).await.unwrap();
    assert!(cwd.is_dir());
    let reported = Path::new(out.stdout.trim_end()).canonicalize().unwrap();
    assert_eq!(reported, cwd.canonicalize().unwrap());
}

#[tokio::test]
async fn failing_command_reports_exit_code_and_stderr() {
    let dir = Scratch::new("fail");
    let out = run(spec(&dir, &["sh", "-c", "echo out; echo oops >&2; exit 3"]))
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(3));
    assert!(!out.success());
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "oops\n");
    assert_eq!(out.combined(), "out\noops\n");
}

#[tokio::test]
async fn timeout_kills_the_command() {
    let dir = Scratch::new("timeout");
    let mut spec = spec(&dir, &["sleep", "5"]);
    spec.timeout = Duration::from_millis(200);
    let started = std::time::Instant::now();
    let err = run(spec).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    match err {
        ExecError::TimedOut { after, partial } => {
            assert_eq!(after, Duration::from_millis(200));
            assert_eq!(partial, "");
        }
        other => panic!("expected TimedOut, got {other:?}"),
    }
}

#[tokio::test]
async fn timeout_returns_even_when_a_grandchild_holds_the_pipes() {
    let dir = Scratch::new("grandchild");
    let mut spec = spec(&dir, &["sh", "-c", "echo started; sleep 30 & sleep 30"]);
    spec.timeout = Duration::from_millis(200);
    let started = std::time::Instant::now();
    let err = run(spec).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    match err {
        ExecError::TimedOut { partial, .. } => assert_eq!(partial, "started\n"),
        other => panic!("expected TimedOut, got {other:?}"),
    }
}

#[tokio::test]
async fn exited_command_returns_despite_a_lingering_grandchild() {
    let dir = Scratch::new("linger");
    let started = std::time::Instant::now();
    let out = run(spec(&dir, &["sh", "-c", "echo done; sleep 30 &"]))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(out.stdout, "done\n");
}

#[tokio::test]
async fn timed_out_partial_output_is_redacted() {
    let dir = Scratch::new("timeout-redact");
    let mut spec = spec(&dir, &["sh", "-c", "echo key=hunter2-secret; sleep 5"]);
    spec.timeout = Duration::from_millis(300);
    spec.secrets = strings(&["hunter2-secret"]);
    match run(spec).await.unwrap_err() {
        ExecError::TimedOut { partial, .. } => assert_eq!(partial, "key=[REDACTED]\n"),
        other => panic!("expected TimedOut, got {other:?}"),
    }
}

#[tokio::test]
async fn large_output_is_capped_and_drained() {
    let dir = Scratch::new("cap");
    let out = run(spec(&dir, &["head", "-c", "3000000", "/dev/zero"]))
        .await
        .unwrap();
    assert!(out.truncated);
    assert_eq!(out.stdout.len(), OUTPUT_CAP);
    assert!(out.stdout.bytes().all(|b| b == 0));
    // 3 MB is under the drain limit: head was drained to completion, not killed.
    assert_eq!(out.exit_code, Some(0));
    assert!(out.combined().ends_with(&format!("\n{TRUNCATION_NOTICE}")));
}

#[tokio::test]
async fn a_larger_cap_keeps_a_listing_whole_and_still_redacts_it() {
    let dir = Scratch::new("inventory");
    // 6 MB of JSON-ish lines, past the agent's cap and its drain limit, with a secret at the end.
    let script = "i=0; while [ $i -lt 60000 ]; do printf '%0100d\\n' $i; i=$((i+1)); done; echo token=hunter2-secret";
    let mut spec = spec(&dir, &["sh", "-c", script]);
    spec.output_cap = 8 * 1024 * 1024;
    spec.secrets = strings(&["hunter2-secret"]);
    let out = run(spec).await.unwrap();
    assert!(!out.truncated);
    assert_eq!(out.exit_code, Some(0), "under 4 × its own cap: not killed");
    assert_eq!(out.stdout.lines().count(), 60_001);
    assert!(out.stdout.len() > 4 * OUTPUT_CAP);
    assert!(
        out.stdout.ends_with("token=[REDACTED]\n"),
        "scanned to the end"
    );
}

#[tokio::test]
async fn endless_output_is_killed_after_the_drain_limit() {
    let dir = Scratch::new("yes");
    let started = std::time::Instant::now();
    let out = run(spec(&dir, &["yes"])).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(out.truncated);
    assert_eq!(out.exit_code, None, "yes must have been killed");
    assert!(!out.success());
    assert_eq!(out.stdout.len(), OUTPUT_CAP);
    assert!(out.stdout.lines().all(|line| line == "y"));
}

#[tokio::test]
async fn cap_is_shared_between_stdout_and_stderr() {
    let dir = Scratch::new("shared");
    let out = run(spec(
        &dir,
        &[
            "sh",
            "-c",
            "head -c 800000 /dev/zero; head -c 800000 /dev/zero >&2",
        ],
    ))
    .await
    .unwrap();
    assert!(out.truncated);
    assert_eq!(out.stdout.len(), 800_000);
    assert_eq!(out.stderr.len(), OUTPUT_CAP - 800_000);
    assert_eq!(out.exit_code, Some(0));
}

#[tokio::test]
async fn cut_does_not_split_a_utf8_character() {
    let dir = Scratch::new("utf8");
    // 1 MiB - 1 bytes of NULs, then "é" (2 bytes): the cap falls inside "é".
    let script = format!(
        "head -c {} /dev/zero; printf '\\303\\251tail'",
        OUTPUT_CAP - 1
    );
    let out = run(spec(&dir, &["sh", "-c", &script])).await.unwrap();
    assert!(out.truncated);
    assert_eq!(out.stdout.len(), OUTPUT_CAP - 1);
    assert!(!out.stdout.contains('\u{FFFD}'));
}

#[tokio::test]
async fn literal_and_injected_secrets_are_redacted() {
    let dir = Scratch::new("secrets");
    let mut spec = spec(
        &dir,
        &[
            "sh",
            "-c",
            "printf '%s %s %s\\n' \"$AURORA_API_TOKEN\" hunter2-password \"$AWS_REGION\"; \
                 printf 'err %s\\n' \"$AURORA_API_TOKEN\" >&2",
        ],
    );
    spec.env = vec![
        ("AURORA_API_TOKEN".to_owned(), "tok-abcdef123456".to_owned()),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
    ];
    spec.secrets = strings(&["hunter2-password"]);
    let out = run(spec).await.unwrap();
    assert_eq!(out.stdout, "[REDACTED] [REDACTED] us-east-1\n");
    assert_eq!(out.stderr, "err [REDACTED]\n");
}

#[test]
fn combined_output() {
    let mut out = ExecOutput {
        exit_code: Some(1),
        stdout: "partial".to_owned(),
        stderr: "warning: x\n".to_owned(),
        truncated: false,
        duration: Duration::from_millis(5),
    };
    assert_eq!(out.combined(), "partial\nwarning: x\n");
    out.truncated = true;
    assert_eq!(
        out.combined(),
        format!("partial\nwarning: x\n{TRUNCATION_NOTICE}")
    );
    out.stderr.clear();
    out.stdout.clear();
    assert_eq!(out.combined(), TRUNCATION_NOTICE);
}

#[test]
fn read_tool_output_is_capped_like_a_commands() {
    let long = capped("z".repeat(OUTPUT_CAP + 10));
    assert!(long.len() <= OUTPUT_CAP + TRUNCATION_NOTICE.len() + 1);
    assert!(long.ends_with(TRUNCATION_NOTICE));
    assert_eq!(capped("short".into()), "short");
}
