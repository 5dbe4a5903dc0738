//! Redaction held against the common secret formats and against innocent look-alikes; the
//! cases of upstream's `server/tests/test_output_redaction.py` among them.

use super::*;

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

#[test]
fn all_patterns_compile() {
    assert!(rules::compiled_rules().is_some_and(|n| n >= 20));
}

#[test]
fn literal_secrets() {
    let secrets = strings(&["s3cr3t-value", "abc", "", "  padded-secret\n"]);
    assert_eq!(
        redact("a s3cr3t-value b s3cr3t-value", &secrets),
        "a [REDACTED] b [REDACTED]"
    );
    // Too short / empty secrets are ignored instead of mangling the output.
    assert_eq!(redact("abc abcdef", &secrets), "abc abcdef");
    // Surrounding whitespace from the secret store does not defeat redaction.
    assert_eq!(redact("x=padded-secret", &secrets), "x=[REDACTED]");
    // A secret containing another is redacted whole.
    let nested = strings(&["pass", "password-1234"]);
    assert_eq!(redact("password-1234", &nested), "[REDACTED]");
}

#[test]
fn aws_access_key_ids() {
    assert_eq!(
        redact("key AKIAIOSFODNN7EXAMPLE used", &[]),
        "key [REDACTED:aws-access-key] used"
    );
    assert_eq!(
        redact(r#""AccessKeyId": "ASIAY34FZKBOKMUTVV7A","#, &[]),
        r#""AccessKeyId": "[REDACTED:aws-access-key]","#
    );
}

#[test]
fn aws_secret_access_keys_and_session_tokens() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    assert_eq!(
        redact(&format!("aws_secret_access_key = {secret}\n"), &[]),
        "aws_secret_access_key = [REDACTED:aws-secret-key]\n"
    );
    assert_eq!(
        redact(&format!("AWS_SECRET_ACCESS_KEY={secret}"), &[]),
        "AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-key]"
    );
    assert_eq!(
        redact(&format!("secret_access_key: {secret}"), &[]),
        "secret_access_key: [REDACTED:aws-secret-key]"
    );
    assert_eq!(
        redact(&format!(r#"  "SecretAccessKey": "{secret}","#), &[]),
        r#"  "SecretAccessKey": "[REDACTED:aws-secret-key]","#
    );
    assert_eq!(
        redact(&format!("|  SecretAccessKey |  {secret} |"), &[]),
        "|  SecretAccessKey |  [REDACTED:aws-secret-key] |"
    );
    assert_eq!(
        redact(
            r#""SessionToken": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+abc=","#,
            &[]
        ),
        // A JSON credential field first: the key stays, the value goes.
        r#""SessionToken": "[REDACTED:credential-field]","#
    );
}

#[test]
fn json_credential_fields_keep_the_key() {
    let cases = [
        (
            r#"{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n"}"#,
            r#"{"private_key": "[REDACTED:credential-field]"}"#,
        ),
        (
            r#"{"client_secret":"GOCSPX-abc123"}"#,
            r#"{"client_secret":"[REDACTED:credential-field]"}"#,
        ),
        (
            r#"{"password": "correct horse \"battery\""}"#,
            r#"{"password": "[REDACTED:credential-field]"}"#,
        ),
        (
            r#"{"token": "s.8f3k2l"}"#,
            r#"{"token": "[REDACTED:credential-field]"}"#,
        ),
        (
            r#"{"access_token" : "opaque-123"}"#,
            r#"{"access_token" : "[REDACTED:credential-field]"}"#,
        ),
        (
            r#"{"refresh_token": "1//0gabc"}"#,
            r#"{"refresh_token": "[REDACTED:credential-field]"}"#,
        ),
        (
            r#"{"secret": "shh"}"#,
            r#"{"secret": "[REDACTED:credential-field]"}"#,
        ),
        (
            r#"{"SecretString": "{\"user\":\"x\"}"}"#,
            r#"{"SecretString": "[REDACTED:credential-field]"}"#,
        ),
        // A value cut off by truncation is still redacted.
        (
            r#"{"password": "half-written"#,
            r#"{"password": "[REDACTED:credential-field]""#,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(redact(input, &[]), expected, "input: {input}");
    }
    // Non-string and empty values are left alone.
    assert_eq!(
        redact(r#"{"token": null, "password": ""}"#, &[]),
        r#"{"token": null, "password": ""}"#
    );
}

#[test]
fn pem_private_key_blocks() {
    let text = "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabcdEFGH\n-----END RSA PRIVATE KEY-----\nafter\n";
    assert_eq!(redact(text, &[]), "before\n[REDACTED:private-key]\nafter\n");
    let openssh =
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----";
    assert_eq!(redact(openssh, &[]), "[REDACTED:private-key]");
    // An unterminated block (output cut) is redacted to the end.
    assert_eq!(
        redact(
            "x\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0",
            &[]
        ),
        "x\n[REDACTED:private-key]"
    );
    // Public material stays.
    let cert = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----";
    assert_eq!(redact(cert, &[]), cert);
}

#[test]
fn bearer_and_basic_authorization() {
    assert_eq!(
        redact(
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_x",
            &[]
        ),
        "Authorization: Bearer [REDACTED:bearer-token]"
    );
    assert_eq!(
        redact("curl -H 'bearer abcdef0123456789'", &[]),
        "curl -H 'bearer [REDACTED:bearer-token]'"
    );
    assert_eq!(
        redact("Authorization: Basic dXNlcjpwYXNzd29yZA==", &[]),
        "Authorization: Basic [REDACTED:basic-auth]"
    );
    // Prose and the WWW-Authenticate challenge are not tokens.
    assert_eq!(
        redact(r#"WWW-Authenticate: Bearer realm="api""#, &[]),
        r#"WWW-Authenticate: Bearer realm="api""#
    );
}

#[test]
fn vendor_tokens() {
    let cases = [
        ("ya29.a0AfB_byC1234567890abcdefGHIJ", "google-oauth-token"),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "github-token"),
        ("gho_16C7e42F292c6912E7710c838347Ae178B4a", "github-token"),
        ("ghs_16C7e42F292c6912E7710c838347Ae178B4a", "github-token"),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "github-token",
        ),
        ("xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "slack-token"),
        ("xoxp-1234567890-0987654321-AbCdEfGhIjKl", "slack-token"),
    ];
    for (token, rule) in cases {
        assert_eq!(
            redact(&format!("token: {token} end"), &[]),
            format!("token: [REDACTED:{rule}] end"),
            "{token}"
        );
    }
}

#[test]
fn ordinary_output_is_untouched() {
    let json = r#"{
"Reservations": [
    {
        "Instances": [
            {
                "InstanceId": "i-0abcd1234efgh5678",
                "ImageId": "ami-0c55b159cbfafe1f0",
                "InstanceType": "t3.large",
                "KeyName": "ops-keypair",
                "State": {"Code": 16, "Name": "running"},
                "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/web"},
                "Tags": [{"Key": "Name", "Value": "web-1"}, {"Key": "secret-rotation", "Value": "enabled"}]
            }
        ]
    }
],
"NextToken": "eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAyfQ==",
"TokenExpiry": "2024-05-01T00:00:00Z"
}"#;
    assert_eq!(redact(json, &[]), json);
    let kubectl = "NAME                      READY   STATUS    RESTARTS   AGE\n\
                   api-7d9c8b6f4-x2x9k       1/1     Running   0          3d\n\
                   secret/db-credentials     Opaque    2      40d\n";
    assert_eq!(redact(kubectl, &[]), kubectl);
    let prose = "Error: token expired; use a bearer token or the password flow (see docs).";
    assert_eq!(redact(prose, &[]), prose);
}

#[test]
fn each_common_secret_format_is_redacted_naming_its_rule() {
    let cases = [
        // Upstream's miss: env-style assignments.
        (
            "OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "OPENAI_API_KEY=[REDACTED:openai-api-key]",
        ),
        (
            "key: sk-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78",
            "key: [REDACTED:openai-api-key]",
        ),
        (
            "ANTHROPIC_API_KEY=sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz_0123456789",
            "ANTHROPIC_API_KEY=[REDACTED:anthropic-api-key]",
        ),
        (
            "stripe: sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "stripe: [REDACTED:stripe-key]",
        ),
        (
            "AKIAIOSFODNN7EXAMPLE",
            "[REDACTED:aws-access-key]",
        ),
        (
            "export AWS_SESSION_TOKEN=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH",
            "export AWS_SESSION_TOKEN=[REDACTED:aws-secret-key]",
        ),
        (
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net",
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=[REDACTED:azure-storage-key];EndpointSuffix=core.windows.net",
        ),
        (
            "https://acme.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA%3D%3D",
            "https://acme.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=[REDACTED:azure-sas-signature]",
        ),
        (
            "clientSecret abc8Q~Abcdefghijklmnopqrstuvwxyz012345",
            "clientSecret [REDACTED:azure-client-secret]",
        ),
        (
            "maps key AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
            "maps key [REDACTED:gcp-api-key]",
        ),
        (
            "hook https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "hook [REDACTED:slack-webhook]",
        ),
        // Upstream's miss: a bare JWT.
        (
            "id eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk done",
            "id [REDACTED:jwt] done",
        ),
        (
            "DATABASE_URL=postgres://app:Sup3r-s3cret@db.internal:5432/app",
            "DATABASE_URL=postgres://app:[REDACTED:connection-string-password]@db.internal:5432/app",
        ),
        (
            "redis://:hunter2hunter2@cache:6379/0",
            "redis://:[REDACTED:connection-string-password]@cache:6379/0",
        ),
        ("DB_PASSWORD=changeme", "DB_PASSWORD=[REDACTED:secret-assignment]"),
        ("  password: hunter22", "  password: [REDACTED:secret-assignment]"),
        (
            "webhook_secret = 'x9Tq2LmZ'",
            "webhook_secret = '[REDACTED:secret-assignment]'",
        ),
        (
            "INTERNAL_API_KEY=8f3a9c2e7b1d4f6a0c5e",
            "INTERNAL_API_KEY=[REDACTED:generic-secret]",
        ),
        (
            "vault token: hvs.CAESIJ3kR9xq2Lm7ZpV0wYt",
            "vault token: [REDACTED:generic-secret]",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(redact(input, &[]), expected, "input: {input}");
    }
}

#[test]
fn a_gcp_service_account_key_loses_its_private_key() {
    let key = r#"{
  "type": "service_account",
  "project_id": "acme-prod",
  "private_key_id": "1a2b3c",
  "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
  "client_email": "agent@acme-prod.iam.gserviceaccount.com"
}"#;
    let out = redact(key, &[]);
    assert!(
        out.contains(r#""private_key": "[REDACTED:credential-field]""#),
        "{out}"
    );
    assert!(!out.contains("MIIEvQ"), "{out}");
    assert!(out.contains(r#""client_email": "agent@acme-prod.iam.gserviceaccount.com""#));
}

#[test]
fn innocent_look_alikes_stay() {
    for text in [
        "TOKEN_TTL=3600",
        "MAX_TOKENS=4096",
        "KEY_NAME=ops-keypair",
        "password_min_length: 12",
        "token_type: Bearer",
        "tokens: 4096",
        "secretName: db-credentials",
        "kind: Secret",
        "api_key: none",
        "auth: true",
        "PWD=/home/agent",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
        "request 3f2b8c1e-9d4a-4f7b-8e6c-2a1d5b9c0e7f",
        "https://example.com:8443/path?page=2",
        "ssh://git@github.com/acme/app.git",
        "sk-learn is a library; risk-based alerting",
        r#""NextToken": "eyJOZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAyfQ==""#,
        "nextPageToken: CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA",
        "eyJhbGciOiJIUzI1NiJ9 is a header, not a token",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----",
    ] {
        assert_eq!(redact(text, &[]), text, "{text}");
    }
}

#[test]
fn a_kubernetes_secret_keeps_its_keys_and_loses_its_data() {
    let yaml = "apiVersion: v1\n\
                data:\n  password: aHVudGVyMg==\n  username: YWRtaW4=\n\
                kind: Secret\n\
                metadata:\n  name: db-credentials\n  namespace: prod\n\
                stringData:\n  note: |\n    first line\n    second line\n\
                type: Opaque\n";
    let out = redact(yaml, &[]);
    assert_eq!(
        out,
        "apiVersion: v1\n\
         data:\n  password: [REDACTED:kubernetes-secret]\n  username: [REDACTED:kubernetes-secret]\n\
         kind: Secret\n\
         metadata:\n  name: db-credentials\n  namespace: prod\n\
         stringData:\n  note: [REDACTED:kubernetes-secret]\n    [REDACTED:kubernetes-secret]\n    [REDACTED:kubernetes-secret]\n\
         type: Opaque\n"
    );
    // A list of them (`kubectl get secrets -o yaml`).
    let list = "apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    token: ZXlKaGJHY2k=\n  kind: Secret\nkind: List\n";
    let out = redact(list, &[]);
    assert!(
        out.contains("    token: [REDACTED:kubernetes-secret]\n"),
        "{out}"
    );
    assert!(!out.contains("ZXlKaGJHY2k="), "{out}");
    // JSON.
    let json = r#"{"apiVersion": "v1", "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}, "kind": "Secret"}"#;
    assert_eq!(
        redact(json, &[]),
        r#"{"apiVersion": "v1", "data": {"password": "[REDACTED:kubernetes-secret]", "user": "[REDACTED:kubernetes-secret]"}, "kind": "Secret"}"#
    );
    // A ConfigMap's data is not secret.
    let config = "apiVersion: v1\ndata:\n  LOG_LEVEL: debug\nkind: ConfigMap\n";
    assert_eq!(redact(config, &[]), config);
}

#[test]
fn text_past_the_scan_limit_is_withheld_not_returned_unscanned() {
    let redactor = Redactor::new(&[]);
    let text =
        "ok line\nAKIAIOSFODNN7EXAMPLE\nline three ghp_16C7e42F292c6912E7710c838347Ae178B4a\n";
    let limit = "ok line\nAKIAIOSFODNN7EXAMPLE\nline".len();
    let out = redactor.apply_within(text, limit);
    let withheld = text.len() - "ok line\nAKIAIOSFODNN7EXAMPLE\n".len();
    assert_eq!(
        out,
        format!(
            "ok line\n[REDACTED:aws-access-key]\n{UNSCANNED} {withheld} more bytes withheld: past \
             the redaction scan limit of {limit} bytes\n"
        )
    );
    assert!(!out.contains("ghp_"));
    // Within the limit the text is scanned whole.
    assert_eq!(
        redactor.apply_within(text, text.len()),
        "ok line\n[REDACTED:aws-access-key]\nline three [REDACTED:github-token]\n"
    );
    // One long line over the limit: nothing of it is shown unscanned, not even half.
    let long = format!("x{}", "a".repeat(100));
    let out = redactor.apply_within(&long, 10);
    assert!(
        out.starts_with("xaaaaaaaaa\n[REDACTED:unscanned] 91 more bytes"),
        "{out}"
    );
}

/// The cases of upstream's `test_output_redaction.py`, with our rule names. One difference:
/// upstream leaves AWS's documented example key `AKIAIOSFODNN7EXAMPLE` alone; here every key of
/// that shape goes (see `aws_access_key_ids`).
#[test]
fn upstreams_redaction_cases() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEogIBAAKCAQEAr\n-----END RSA PRIVATE KEY-----";
    let k8s = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: cGFzc3dvcmRfdmFsdWUxMjM0NQ==";
    for (text, expected) in [
        (
            "AWS_ACCESS_KEY_ID=AKIA6ODU7H4ZLXKDNQ3X",
            "AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key]",
        ),
        (
            "token: ghp_q83Xa2nLv9P4f7Jv6TmRzW8b1K2cDhG5sY0i",
            "token: [REDACTED:github-token]",
        ),
        (
            "OPENAI_API_KEY=sk-proj-R3dA9kLpQ8vN2mT7bX4sFhG1jY5uC6wE0oZ2iP3yM4qK",
            "OPENAI_API_KEY=[REDACTED:openai-api-key]",
        ),
        (
            "xoxb-1234567890-1234567890123-7K9mP2qR5xN8vB3cL4zJ6tY0",
            "[REDACTED:slack-token]",
        ),
        (pem, "[REDACTED:private-key]"),
        (
            k8s,
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: [REDACTED:kubernetes-secret]",
        ),
    ] {
        let once = redact(text, &[]);
        assert_eq!(once, expected, "{text}");
        assert_eq!(redact(&once, &[]), once, "idempotent: {text}");
    }
    for benign in [
        "aws_access_key_id=${AWS_ACCESS_KEY_ID}",
        "Content-Length: 1234\nBody: SGVsbG8gV29ybGQ=",
        "Running kubectl get pods -n default returned 12 results.",
        "trace_id: 7f1e3c85-2b4a-49d6-8c91-a3d4e5f6a7b8",
    ] {
        assert_eq!(redact(benign, &[]), benign);
    }
}

#[test]
fn without_its_rules_the_scan_withholds_the_whole_text() {
    let redactor = Redactor::new(&strings(&["hunter2-secret"]));
    let output = "deploy ok\nDB_PASSWORD=hunter2-secret\nAKIAABCDEFGHIJKLMNOP\n";
    let withheld = redactor.scan_with(output, |_| None);
    assert_eq!(withheld, "[REDACTED:redaction-unavailable]");
    // With the rules, the same text is scanned and shown.
    let scanned = redactor.scan_with(output, rules::apply);
    assert!(scanned.starts_with("deploy ok\n"), "{scanned}");
    assert!(
        !scanned.contains("hunter2") && !scanned.contains("AKIAABCD"),
        "{scanned}"
    );
}
