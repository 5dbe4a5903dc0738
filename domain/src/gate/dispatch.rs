//! Step 5's dispatch: each CLI's command judged by its own vocabulary ([`assess`]), after its
//! flags are read with its own [`FlagSpec`] ([`flag_spec`]).

use super::assessment::{Assessment, Kind};
use super::aws::{assess_aws, AWS_FLAGS};
use super::az::AZ;
use super::flags::{destructive_flag, FlagSpec, Parsed};
use super::gcloud::GCLOUD;
use super::kubectl::{assess_kubectl, KUBECTL_FLAGS};
use super::scw_ovh_tailscale::{assess_scw, assess_tailscale, OVH, SCW, TAILSCALE_FLAGS};
use super::vocabulary::assess_by_vocabulary;
use super::Cli;

pub(super) fn assess(cli: Cli, args: &[String]) -> Assessment {
    let parsed = Parsed::new(args, flag_spec(cli));
    let mut assessment = match cli {
        Cli::Kubectl => assess_kubectl(&parsed),
        Cli::Aws => assess_aws(&parsed),
        Cli::Tailscale => assess_tailscale(&parsed),
        Cli::Gcloud => assess_by_vocabulary(&GCLOUD, &parsed),
        Cli::Az => assess_by_vocabulary(&AZ, &parsed),
        Cli::Scw => assess_scw(&parsed),
        Cli::Ovh => assess_by_vocabulary(&OVH, &parsed),
    };
    if let Some(at) = parsed.dashdash {
        if matches!(assessment.kind, Kind::Help | Kind::Unknown) {
            // No command before `--`: the CLI's parser may still take what follows as one
            // (`gcloud -- compute instances delete vm`). Judge it without the `--`, and never
            // as read-only.
            let mut without = args.to_vec();
            without.remove(at);
            assessment = assess(cli, &without);
            assessment.raise(Kind::Unknown);
        }
    }
    if assessment.kind != Kind::Help {
        if let Some(flag) = destructive_flag(cli, args) {
            if assessment.raise(Kind::Forced) {
                assessment.flag = Some(flag);
            }
        }
    }
    assessment
}

pub(super) fn flag_spec(cli: Cli) -> &'static FlagSpec {
    match cli {
        Cli::Kubectl => &KUBECTL_FLAGS,
        Cli::Aws => &AWS_FLAGS,
        Cli::Tailscale => &TAILSCALE_FLAGS,
        Cli::Gcloud => &GCLOUD.flags,
        Cli::Az => &AZ.flags,
        Cli::Scw => &SCW.flags,
        Cli::Ovh => &OVH.flags,
    }
}
