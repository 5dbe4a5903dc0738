//! The deny template every new organisation starts with: upstream's universal deny rules
//! (`_UNIVERSAL_DENY_RULES` in `server/utils/auth/command_policy.py` of Arvo-AI/aurora), word
//! for word, so a policy written for upstream imports as it is. Admins edit it through
//! `PUT /api/agent/policy` like any other policy.
//!
//! Most of these programs never reach a CLI tool here (the gate refuses them as argv), but a
//! rule also matches inside arguments (`--command 'gcc …'`, `--user-data …`), and the template is
//! what an organisation sees and can tighten.

/// One rule of the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateRule {
    pub pattern: &'static str,
    /// Upstream's description, shown in the reason of a refusal.
    pub description: &'static str,
}

/// The default deny template, highest priority first.
pub const DEFAULT_DENY_TEMPLATE: &[TemplateRule] = &[
    TemplateRule {
        pattern: r"\brm\s+-rf\s+/",
        description: "Recursive root deletion",
    },
    TemplateRule {
        pattern: r"\b(gcc|g\+\+|cc|make|as|ld)\b",
        description: "Native code compilation",
    },
    TemplateRule {
        pattern: r"(?<!\bkubectl\s)(?<!\boc\s)(?<!\bdocker\s)\b(eval|exec)\b",
        description: "Dynamic code evaluation",
    },
    TemplateRule {
        pattern: r"\bLD_PRELOAD\b",
        description: "Shared library injection",
    },
    TemplateRule {
        pattern: r"\bbase64\b.*\|\s*(sh|bash|python)",
        description: "Encoded payload execution",
    },
    TemplateRule {
        pattern: r"\b(ssh-keygen|ssh-copy-id)\b",
        description: "SSH key generation on host",
    },
    TemplateRule {
        pattern: r"\b(bash|sh|dash|zsh)\s+-c\b",
        description: "Inline shell interpreter",
    },
    TemplateRule {
        pattern: r"\b(useradd|usermod|adduser|visudo|passwd)\b",
        description: "User/privilege management",
    },
    TemplateRule {
        pattern: r"\bcurl\b.*\|\s*(sh|bash)\b",
        description: "Remote script execution",
    },
    TemplateRule {
        pattern: r"\b(nc|ncat|netcat|socat)\b.*(-l|-e|-c)\b",
        description: "Network listener / reverse shell",
    },
    TemplateRule {
        pattern: r"\bchmod\b.*(\+s|u\+s|4[0-7]{3})\b",
        description: "SUID bit manipulation",
    },
    TemplateRule {
        pattern: r"\bnsenter\b|\bunshare\b|\bchroot\b",
        description: "Namespace/container escape",
    },
    TemplateRule {
        pattern: r"\biptables\b|\bnft\b|\bip\s+route\b",
        description: "Network configuration changes",
    },
];

/// The template's patterns, as a policy's deny list.
pub fn default_deny_patterns() -> Vec<String> {
    DEFAULT_DENY_TEMPLATE
        .iter()
        .map(|rule| rule.pattern.to_owned())
        .collect()
}

/// The template's description of `pattern`, if it is one of its rules.
pub fn describe(pattern: &str) -> Option<&'static str> {
    DEFAULT_DENY_TEMPLATE
        .iter()
        .find(|rule| rule.pattern == pattern)
        .map(|rule| rule.description)
}
