//! How each CLI's flag parser reads its flags, and the flags that make any command destructive.

use super::Cli;

// ----------------------------------------------------------------------------------------------
// Flags and positionals
// ----------------------------------------------------------------------------------------------

/// How a CLI's flag parser reads `--flag value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FlagStyle {
    /// spf13/pflag (kubectl, scw, ovh): a value flag takes the next word even if it starts with
    /// `-`; `-abc` is `-a` with the value `bc`, or the switches `-a -b -c`.
    Pflag,
    /// Python argparse (gcloud, aws, az): a value flag does not take a next word starting with
    /// `-`.
    Argparse,
    /// Go's `flag` package (tailscale): `-name` is the same flag as `--name`.
    GoFlag,
}

/// A CLI's flags. Flags in neither list are assumed to take a value.
pub(super) struct FlagSpec {
    pub(super) style: FlagStyle,
    pub(super) values: &'static [&'static str],
    pub(super) switches: &'static [&'static str],
}

/// Help flags are switches in every CLI.
pub(super) const HELP_FLAGS: &[&str] = &["--help", "-h", "-help"];

impl FlagSpec {
    pub(super) fn is_switch(&self, name: &str) -> bool {
        HELP_FLAGS.contains(&name) || self.lists(self.switches, name)
    }

    pub(super) fn takes_value(&self, name: &str) -> bool {
        self.lists(self.values, name)
    }

    pub(super) fn lists(&self, list: &[&str], name: &str) -> bool {
        match self.style {
            FlagStyle::GoFlag => {
                let bare = name.trim_start_matches('-');
                list.iter().any(|f| f.trim_start_matches('-') == bare)
            }
            FlagStyle::Pflag | FlagStyle::Argparse => list.contains(&name),
        }
    }
}

#[derive(Debug)]
pub(super) struct Flag<'a> {
    /// Position in the args.
    pub(super) index: usize,
    pub(super) name: &'a str,
    pub(super) value: Option<&'a str>,
    /// The value was taken by a flag the gate does not know: it may really be a positional.
    pub(super) guessed: bool,
}

/// The args split into flags and positionals; everything after `--` belongs to another program
/// and is left out.
#[derive(Debug, Default)]
pub(super) struct Parsed<'a> {
    pub(super) positionals: Vec<(usize, &'a str)>,
    pub(super) flags: Vec<Flag<'a>>,
    /// Where `--` is, if words follow it.
    pub(super) dashdash: Option<usize>,
}

pub(super) fn looks_like_flag(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

impl<'a> Parsed<'a> {
    pub(super) fn new(args: &'a [String], spec: &FlagSpec) -> Self {
        let mut parsed = Parsed::default();
        let mut i = 0;
        while let Some(word) = args.get(i).map(String::as_str) {
            if word == "--" {
                parsed.dashdash = (i + 1 < args.len()).then_some(i);
                break;
            }
            if !looks_like_flag(word) {
                parsed.positionals.push((i, word));
                i += 1;
                continue;
            }
            let (name, value, may_take_next) = split_flag(spec, word);
            let mut flag = Flag {
                index: i,
                name,
                value,
                guessed: false,
            };
            if may_take_next && !spec.is_switch(name) {
                if let Some(next) = args.get(i + 1).map(String::as_str) {
                    if spec.style != FlagStyle::Argparse || !looks_like_flag(next) {
                        flag.value = Some(next);
                        flag.guessed = !spec.takes_value(name);
                        i += 1;
                    }
                }
            }
            parsed.flags.push(flag);
            i += 1;
        }
        parsed
    }

    pub(super) fn words(&self) -> Vec<&'a str> {
        self.positionals.iter().map(|&(_, word)| word).collect()
    }

    pub(super) fn flag(&self, names: &[&str]) -> Option<&Flag<'a>> {
        self.flags.iter().find(|f| names.contains(&f.name))
    }

    pub(super) fn has_flag(&self, names: &[&str]) -> bool {
        self.flag(names).is_some()
    }

    /// The help flag, if one was given as a flag (not as another flag's value).
    pub(super) fn help_flag(&self, names: &[&str]) -> Option<&Flag<'a>> {
        self.flags
            .iter()
            .find(|f| names.contains(&f.name) && f.value.is_none())
    }

    /// Values taken by flags the gate does not know.
    pub(super) fn guessed_values(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.flags
            .iter()
            .filter(|f| f.guessed)
            .filter_map(|f| f.value)
    }
}

/// `(name, inline value, whether it may take the next word)`.
pub(super) fn split_flag<'a>(spec: &FlagSpec, word: &'a str) -> (&'a str, Option<&'a str>, bool) {
    if spec.style != FlagStyle::GoFlag && !word.starts_with("--") {
        // `-nprod` and `-n=prod` are `-n prod`; `-it` is `-i -t`.
        if let Some((at, _)) = word.char_indices().nth(2) {
            let (name, rest) = word.split_at(at);
            let value = match rest.strip_prefix('=') {
                Some(value) => Some(value),
                None => spec.takes_value(name).then_some(rest),
            };
            return (name, value, false);
        }
    }
    match word.split_once('=') {
        Some((name, value)) => (name, Some(value), false),
        None => (word, None, true),
    }
}

pub(super) fn is_false(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "false" | "0" | "no" | "off"
    )
}

/// `--force` flags that only change how a value is parsed or how a change is applied.
pub(super) const HARMLESS_FORCE_FLAGS: &[&str] = &[
    // az generic update: do not parse `--set` values as JSON.
    "--force-string",
    // kubectl server-side apply: take ownership of conflicting fields; still an apply.
    "--force-conflicts",
    // aws ecs update-service: a rolling restart, like `kubectl rollout restart`.
    "--force-new-deployment",
];

/// The first flag that makes any command destructive, wherever it is.
pub(super) fn destructive_flag(cli: Cli, args: &[String]) -> Option<String> {
    args.iter().enumerate().find_map(|(i, word)| {
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (word.as_str(), None),
        };
        let enabled = !value.is_some_and(is_false);
        let dashed = name.starts_with('-');
        let bare = name.trim_start_matches('-');
        let force_like = bare == "force" || bare.starts_with("force-");
        let forced = dashed && force_like && !HARMLESS_FORCE_FLAGS.contains(&name) && enabled;
        let next = args.get(i + 1).map(String::as_str);
        let cli_specific = match cli {
            Cli::Aws => name == "--delete" && enabled,
            Cli::Gcloud => name == "--delete-unmatched-destination-objects" && enabled,
            Cli::Kubectl => {
                ((name == "--prune" || name == "--now") && enabled)
                    || (name == "--grace-period" && value.or(next) == Some("0"))
            }
            // scw takes `key=value` arguments: `force-shutdown=true`.
            Cli::Scw => !dashed && force_like && value.is_some() && enabled,
            Cli::Az | Cli::Tailscale | Cli::Ovh => false,
        };
        (forced || cli_specific).then(|| word.clone())
    })
}
