//! The deny template every new organisation starts with: upstream's universal deny rules
//! (`_UNIVERSAL_DENY_RULES` in `server/utils/auth/command_policy.py` of Arvo-AI/aurora), with
//! their descriptions and order, narrowed so that each refuses what its name says. Admins edit
//! it through `PUT /api/agent/policy` like any other policy, and upstream's own rules (look-behind
//! and all) are still accepted as they are.
//!
//! Upstream matches program names as words anywhere in the line, so its compilation rule
//! refuses `kubectl --as=viewer get pods` (`as`, the assembler), its evaluation rule refuses
//! `kubectl -n prod exec …` (its look-behind spares only `kubectl exec`), and a log search for
//! `nsenter` or `curl | bash` is refused as if it ran them. Here a program counts only where a
//! shell would start it ([`program!`]), and a rule about changes leaves the reads of the same
//! tool alone (`iptables -L`, `ip route show`).
//!
//! Most of these programs never reach a CLI tool as the command itself (the gate refuses them as
//! argv), so the template is about commands carried inside arguments: `gcloud compute ssh
//! --command '…'`, `kubectl exec POD -- …`, `aws ssm send-command --parameters commands=…`. Those
//! tools are confirmed by a human in agent mode anyway; the template refuses the worst outright.
//! A remote command given as bare positional words (`tailscale ssh HOST CMD`) is not at a
//! command position the line shows, so only the confirmation guards it.

/// One rule of the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateRule {
    pub pattern: &'static str,
    /// Upstream's description, shown in the reason of a refusal.
    pub description: &'static str,
}

/// `$body` (program names with what must follow them) where a shell would start a program: at
/// the start of the line; after a shell separator, an opening parenthesis, bracket, backtick or
/// quote (inside an argument a remote shell runs: `--command 'id; gcc x.c'`, `["make"]`); after
/// `--` (`kubectl exec POD -- …`); after an argument that carries a command (`--command`,
/// `--scripts`, `commands=`, `startup-script=`); or after a program that runs the next one
/// (`sudo -u root`, `env A=1`, `xargs`, `busybox`, …). An absolute path may come before the name
/// (`/usr/bin/gcc`). Not after a `-` (`--as`, `sync-nc`) nor as a flag's or search's value
/// (`--filter-pattern nsenter`). Every pattern compiles on the `regex` crate: linear time.
macro_rules! program {
    ($($body:tt)+) => {
        concat!(
            r#"(?:^|[;&|(`'"\[]\s*|\s--\s+|(?:command|script)s?[=\s]\s*|\b(?:sudo|doas|env|nohup|xargs|busybox)(?:\s+-\S+(?:\s+[^-\s]\S*)?|\s+\w+=\S*)*\s+)(?:/\S*/)?(?:"#,
            $($body)+,
            ")"
        )
    };
}

/// What may follow a program name, or its last argument a rule looks at: the end of the word.
macro_rules! end {
    () => {
        r#"(?:\s|$|[;&|)`'"\]])"#
    };
}

/// The default deny template, highest priority first.
pub const DEFAULT_DENY_TEMPLATE: &[TemplateRule] = &[
    TemplateRule {
        // `rm` with a recursive flag on `/` or `/*`, not on a path below it.
        pattern: program!(concat!(
            r"rm(?:\s+-\S+)*\s+(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)(?:\s+-\S+)*\s+/\*?",
            end!()
        )),
        description: "Recursive root deletion",
    },
    TemplateRule {
        pattern: program!(concat!(
            r"(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|tcc|rustc|make|cmake|as|ld)",
            end!()
        )),
        description: "Native code compilation",
    },
    TemplateRule {
        // The shell's `eval`/`exec` as a command, or an interpreter's `eval(…)`/`exec(…)`; not
        // the `exec` verb of a CLI.
        pattern: concat!(
            program!(concat!("(?:eval|exec)", end!())),
            r"|\b(?:eval|exec)\("
        ),
        description: "Dynamic code evaluation",
    },
    TemplateRule {
        // Setting it (`LD_PRELOAD=…`, `"LD_PRELOAD","value"` in a patch), not searching for it
        // or removing it (`kubectl set env … LD_PRELOAD-`).
        pattern: r#"\bLD_(?:PRELOAD|AUDIT)["']?\s*[=:,]"#,
        description: "Shared library injection",
    },
    TemplateRule {
        pattern: program!(concat!(
            r"base64\s[^;&|]*\|\s*(?:/\S*/)?(?:sudo\s+)?(?:bash|sh|dash|zsh|ksh|ash|python[0-9.]*|perl|ruby|node)",
            end!()
        )),
        description: "Encoded payload execution",
    },
    TemplateRule {
        pattern: program!(concat!("(?:ssh-keygen|ssh-copy-id)", end!())),
        description: "SSH key generation on host",
    },
    TemplateRule {
        pattern: program!(concat!(
            r"(?:bash|sh|dash|zsh|ksh|ash)(?:\s+-\S+)*\s+-[a-zA-Z]*c[a-zA-Z]*",
            end!()
        )),
        description: "Inline shell interpreter",
    },
    TemplateRule {
        pattern: program!(concat!(
            "(?:useradd|usermod|userdel|adduser|deluser|groupadd|groupmod|passwd|chpasswd|visudo)",
            end!()
        )),
        description: "User/privilege management",
    },
    TemplateRule {
        // A download piped into a shell (through `tee` or the like too).
        pattern: program!(concat!(
            r"(?:curl|wget)\s[^;&]*\|\s*(?:/\S*/)?(?:sudo\s+)?(?:bash|sh|dash|zsh|ksh|ash)",
            end!()
        )),
        description: "Remote script execution",
    },
    TemplateRule {
        // netcat listening or handing the connection to a program (`-l`, `-e`, `-c`, in any
        // cluster of short flags), or socat with a listener or a program; not `nc -zv host
        // port`, the usual reachability check.
        pattern: program!(concat!(
            r"(?:nc|ncat|netcat)\s(?:[^;&|]*\s)?(?:-[a-zA-Z0-9]*[lec][a-zA-Z0-9]*|--(?:listen|exec|sh-exec|lua-exec))",
            end!(),
            r"|socat\s[^;&|]*(?i:listen|exec:|system:)"
        )),
        description: "Network listener / reverse shell",
    },
    TemplateRule {
        // The mode argument of `chmod` (its first word after the flags): a symbolic `+s`/`=s`
        // or a numeric mode with the set-user-id bit (4xxx to 7xxx).
        pattern: program!(concat!(
            r"chmod(?:\s+-\S+)*\s+(?:\S*[+=][rwxXt]*s[rwxXt]*(?:,\S*)?|0?[4-7][0-7]{3})",
            end!()
        )),
        description: "SUID bit manipulation",
    },
    TemplateRule {
        pattern: program!(concat!("(?:nsenter|unshare|chroot|pivot_root)", end!())),
        description: "Namespace/container escape",
    },
    TemplateRule {
        // The forms of the firewall and routing tools that change something; listing rules
        // and routes (`iptables -L`, `nft list ruleset`, `ip route show`) is left alone.
        pattern: program!(concat!(
            r"ip6?tables(?:-legacy|-nft)?(?:\s+\S+)*\s+(?:-[ADIRFXZNEP]|--(?:append|delete|insert|replace|flush|delete-chain|zero|new-chain|rename-chain|policy))",
            end!(),
            r"|ip6?tables(?:-legacy|-nft)?-restore",
            end!(),
            r"|nft(?:\s+-\S+)*\s+(?:add|insert|replace|create|delete|destroy|flush|reset|rename|-f|--file)",
            end!(),
            r"|ufw(?:\s+-\S+)*\s+(?:enable|disable|reset|reload|default|logging|allow|deny|reject|limit|delete|insert|prepend|route)",
            end!(),
            r"|firewall-cmd\s[^;&|]*--(?:(?:add|remove|change|set|new|delete)-\S+|reload|complete-reload|panic-on|runtime-to-permanent)",
            r"|ip(?:\s+-\S+)*\s+(?:r|ro|route|ru|rule|l|link|a|addr|address|n|neigh)\s+(?:a|add|d|del|delete|change|replace|append|flush|set)",
            end!()
        )),
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
