//! The aws CLI's vocabulary.

use super::assessment::{shown, Assessment, Kind};
use super::flags::{FlagSpec, FlagStyle, Parsed};

// ----------------------------------------------------------------------------------------------
// aws: `aws [flags] SERVICE OPERATION [args]`
// ----------------------------------------------------------------------------------------------

pub(super) const AWS_FLAGS: FlagSpec = FlagSpec {
    style: FlagStyle::Argparse,
    values: &[
        "--region",
        "--profile",
        "--output",
        "--query",
        "--endpoint-url",
        "--color",
        "--ca-bundle",
        "--cli-read-timeout",
        "--cli-connect-timeout",
        "--cli-binary-format",
        "--cli-input-json",
        "--cli-input-yaml",
        "--page-size",
        "--max-items",
        "--starting-token",
    ],
    switches: &[
        "--debug",
        "--no-verify-ssl",
        "--no-paginate",
        "--no-sign-request",
        "--no-cli-pager",
        "--cli-auto-prompt",
        "--no-cli-auto-prompt",
        "--version",
        "--dry-run",
        "--no-dry-run",
        "--recursive",
        "--delete",
        "--force",
        "--quiet",
        "--with-decryption",
        "--no-with-decryption",
        "--follow",
        "--dryrun",
        "--human-readable",
        "--summarize",
        "--only-show-errors",
        "--exact-timestamps",
    ],
};

pub(super) const AWS_READ_PREFIXES: &[&str] = &[
    "describe-",
    "get-",
    "list-",
    "lookup-",
    "search-",
    "batch-get-",
    "head-",
    "filter-",
    "simulate-",
];
pub(super) const AWS_READS: &[&str] = &[
    "ls",
    "tail",
    "wait",
    "scan",
    "query",
    "select",
    "validate-template",
];
/// Operations that only read although their name says otherwise.
pub(super) const AWS_SERVICE_READS: &[(&str, &str)] = &[
    // CloudWatch Logs Insights: a query reads logs.
    ("logs", "start-query"),
    ("logs", "stop-query"),
    ("logs", "start-live-tail"),
];
/// `revoke-` withdraws access rules (the usual way to cut traffic by mistake) and `release-`
/// gives up an address for good; `detach-` and `disassociate-` are reversible, so mutating.
pub(super) const AWS_DELETE_PREFIXES: &[&str] = &[
    "delete-",
    "remove-",
    "terminate-",
    "destroy-",
    "drop-",
    "truncate-",
    "purge-",
    "deregister-",
    "revoke-",
    "release-",
    "batch-delete-",
];
pub(super) const AWS_DELETES: &[&str] = &[
    "schedule-key-deletion",
    "close-account",
    "leave-organization",
];
pub(super) const AWS_EXECUTES: &[(&str, &str)] = &[
    ("ssm", "send-command"),
    ("ssm", "start-session"),
    ("ecs", "execute-command"),
    ("ec2-instance-connect", "ssh"),
];
pub(super) const AWS_SECRETS: &[(&str, &str)] = &[
    ("secretsmanager", "get-secret-value"),
    ("secretsmanager", "batch-get-secret-value"),
    ("ecr", "get-login-password"),
    ("ecr", "get-login"),
    ("ecr", "get-authorization-token"),
    ("ecr-public", "get-login-password"),
    ("ecr-public", "get-authorization-token"),
    ("eks", "get-token"),
    ("sts", "get-session-token"),
    ("sts", "get-federation-token"),
    ("codeartifact", "get-authorization-token"),
    ("ec2", "get-password-data"),
    ("lightsail", "get-instance-access-details"),
    ("lightsail", "get-relational-database-master-user-password"),
    ("redshift", "get-cluster-credentials"),
    ("redshift", "get-cluster-credentials-with-iam"),
    ("redshift-serverless", "get-credentials"),
    ("cognito-identity", "get-credentials-for-identity"),
    ("sso", "get-role-credentials"),
    ("rds", "generate-db-auth-token"),
    ("configure", "export-credentials"),
    // A presigned URL is a bearer credential for the object.
    ("s3", "presign"),
];

pub(super) fn assess_aws(parsed: &Parsed<'_>) -> Assessment {
    let words = parsed.words();
    let command = shown("aws", &words[..words.len().min(2)]);
    // `aws help`, `aws ec2 help`, `aws ec2 describe-instances help`.
    let help_after_operation = match (parsed.positionals.get(1), parsed.positionals.get(2)) {
        (Some(&(operation_at, _)), Some(&(at, "help"))) => at == operation_at + 1,
        _ => false,
    };
    if words.iter().take(2).any(|w| *w == "help")
        || help_after_operation
        || parsed.help_flag(&["--help"]).is_some()
    {
        return Assessment::new(Kind::Help, command);
    }
    match (words.first(), words.get(1)) {
        (Some(service), Some(operation)) => {
            Assessment::new(aws_kind(service, operation, parsed, &words[2..]), command)
        }
        // `aws configure` alone prompts for credentials and writes them.
        (Some(&"configure"), None) => Assessment::new(Kind::Changes, command),
        // A service with no operation (`aws ec2`, or any word at all: `aws frobnicate`) is a
        // usage error at best; only `help` and `--help` are read as help.
        (Some(_), None) => Assessment::new(Kind::Unknown, command),
        (None, _) => Assessment::bare("aws", parsed),
    }
}

pub(super) fn aws_kind(service: &str, operation: &str, parsed: &Parsed<'_>, rest: &[&str]) -> Kind {
    let pair = (service, operation);
    if AWS_EXECUTES.contains(&pair) {
        return Kind::Executes;
    }
    if AWS_SECRETS.contains(&pair)
        || (service == "ssm"
            && operation.starts_with("get-parameter")
            && parsed.has_flag(&["--with-decryption"]))
    {
        return Kind::Secret;
    }
    match service {
        "s3" => return aws_s3_kind(operation),
        "configure" => return aws_configure_kind(operation, rest),
        _ => {}
    }
    if AWS_SERVICE_READS.contains(&pair) {
        Kind::Reads
    } else if AWS_DELETES.contains(&operation)
        || AWS_DELETE_PREFIXES.iter().any(|p| operation.starts_with(p))
    {
        Kind::Deletes
    } else if AWS_READS.contains(&operation)
        || AWS_READ_PREFIXES.iter().any(|p| operation.starts_with(p))
    {
        Kind::Reads
    } else if operation.contains('-') {
        // Every other AWS API operation is a verb-noun that changes something.
        Kind::Changes
    } else {
        Kind::Unknown
    }
}

/// The high-level `aws s3` commands.
pub(super) fn aws_s3_kind(command: &str) -> Kind {
    match command {
        "ls" => Kind::Reads,
        "rm" | "rb" => Kind::Deletes,
        // `cp s3://b/k -` only prints the object, but `cp` in general writes: mutating.
        "cp" | "mv" | "sync" | "mb" | "website" => Kind::Changes,
        _ => Kind::Unknown,
    }
}

/// `aws configure`: local settings. `get` reads one, unless it is a secret.
pub(super) fn aws_configure_kind(command: &str, rest: &[&str]) -> Kind {
    match command {
        "list" | "list-profiles" => Kind::Reads,
        "get" if rest.iter().any(|key| mentions_secret(key)) => Kind::Secret,
        "get" => Kind::Reads,
        _ => Kind::Changes,
    }
}

pub(super) fn mentions_secret(word: &str) -> bool {
    let word = word.to_ascii_lowercase();
    word.contains("secret") || word.contains("token") || word.contains("password")
}
