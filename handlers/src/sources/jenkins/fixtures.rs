/// The Notification plugin's JSON (Gson, lower_case_with_underscores) for a failed build of
/// a multibranch job, at the FINALIZED phase.
pub const FAILED: &str = r#"{
      "name": "main",
      "display_name": "main",
      "url": "job/shop/job/checkout%20service/job/main/",
      "build": {
        "full_url": "https://ci.example.com/job/shop/job/checkout%20service/job/main/142/",
        "number": 142,
        "queue_id": 3317,
        "phase": "FINALIZED",
        "status": "FAILURE",
        "url": "job/shop/job/checkout%20service/job/main/142/",
        "scm": {
          "url": "https://github.com/acme/checkout.git",
          "branch": "origin/main",
          "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
          "changes": ["src/cart.rs", "src/tax.rs"],
          "culprits": ["alice", "bob"]
        },
        "parameters": {"ENVIRONMENT": "production", "DRY_RUN": "false"},
        "log": "[Pipeline] sh\n+ cargo test\ntest cart::tests::applies_coupon ... FAILED\nerror: test failed, to rerun pass `--lib`\nFinished: FAILURE\n",
        "notes": "nightly release candidate",
        "timestamp": "2026-11-23T09:58:41.512+00:00",
        "duration": 93214,
        "artifacts": {
          "checkout.tar.gz": {"archive": "https://ci.example.com/job/shop/job/checkout%20service/job/main/142/artifact/target/checkout.tar.gz"}
        },
        "test_summary": {
          "total": 412, "failed": 2, "passed": 405, "skipped": 5,
          "failed_tests": ["cart::tests::applies_coupon", "tax::tests::rounds_half_up"]
        }
      }
    }"#;

/// Upstream Aurora's Jenkinsfile snippet, as its `post { always { … } }` block sends it.
pub const STEP: &str = r#"{"service":"payments-api","environment":"staging","result":"FAILURE","build_number":77,"build_url":"https://ci.example.com/job/payments-api/77/","git":{"commit_sha":"3f786850e387550fdab836ed7e6dc881de23001b","branch":"origin/release-2.4"},"deployer":"carol","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}"#;

pub fn sign(secret: &[u8], body: &str) -> String {
    crate::sources::common::tests_support::sign(super::DESCRIPTOR.auth, secret, body)
}
