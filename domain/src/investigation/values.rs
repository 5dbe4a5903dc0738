//! The closed sets of names an investigation is made of, and the conclusion gate.

use serde::{Deserialize, Serialize};

use crate::values::named_values;

named_values!(
    /// How sure the root cause is (upstream's gate since its PR 550, which added INCONCLUSIVE
    /// so a run without evidence says so instead of inventing a cause).
    Conclusion, UnknownConclusion {
        /// The evidence shows the cause: a finding cites the tool output that shows it.
        Confirmed => "confirmed",
        /// The evidence points to the cause: the run looked (a tool step succeeded) and found
        /// something, but no finding cites proof.
        Likely => "likely",
        /// Not enough evidence to name a cause.
        Inconclusive => "inconclusive",
    }
);

impl Conclusion {
    /// The strongest conclusion the evidence supports, up to `asked`: `cited_findings` findings
    /// cite a tool output that succeeded, `findings` were recorded, `succeeded_steps` tool steps
    /// succeeded.
    pub fn supported_by(
        asked: Self,
        cited_findings: usize,
        findings: usize,
        succeeded_steps: usize,
    ) -> Self {
        let supported = if cited_findings > 0 {
            Self::Confirmed
        } else if findings > 0 && succeeded_steps > 0 {
            Self::Likely
        } else {
            Self::Inconclusive
        };
        asked.max_with(supported)
    }

    /// The weaker of two conclusions.
    fn max_with(self, ceiling: Self) -> Self {
        if self.strength() <= ceiling.strength() {
            self
        } else {
            ceiling
        }
    }

    fn strength(self) -> u8 {
        match self {
            Self::Inconclusive => 0,
            Self::Likely => 1,
            Self::Confirmed => 2,
        }
    }

    /// What the gate requires of this conclusion, in words (for the prompt and refusals).
    pub fn requirement(self) -> &'static str {
        match self {
            Self::Confirmed => {
                "at least one finding that cites a successful tool output showing the cause"
            }
            Self::Likely => "at least one finding and at least one successful tool step",
            Self::Inconclusive => "nothing: it is what a run without enough evidence concludes",
        }
    }
}

named_values!(
    /// Where a run stands: `requested → (queued →) running → completed | failed | cancelled`.
    #[derive(Default)]
    InvestigationStatus, UnknownInvestigationStatus {
        #[default]
        Requested => "requested",
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

impl InvestigationStatus {
    /// Whether the run is over (nothing more is recorded on it).
    pub fn has_ended(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

named_values!(
    /// What a suggestion is for.
    SuggestionKind, UnknownSuggestionKind {
        Diagnostic => "diagnostic",
        Mitigation => "mitigation",
        Remediate => "remediate",
        Prevent => "prevent",
        Fix => "fix",
    }
);

named_values!(
    /// How risky following a suggestion is.
    Risk, UnknownRisk {
        Safe => "safe",
        Low => "low",
        Medium => "medium",
        High => "high",
    }
);

named_values!(
    /// How one tool step ended.
    StepStatus, UnknownStepStatus {
        Succeeded => "succeeded",
        Failed => "failed",
        /// The command gate refused it (a background run has nobody to confirm anything).
        Refused => "refused",
    }
);

/// Why a run was requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// The incident opened and its integration's setting asks for an RCA.
    Opened,
    /// Someone asked for it.
    Manual { by: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conclusion_is_never_stronger_than_its_evidence() {
        use Conclusion::*;
        // (asked, cited findings, findings, succeeded steps) → recorded
        let cases = [
            (Confirmed, 1, 1, 1, Confirmed),
            (Confirmed, 0, 2, 3, Likely),
            (Confirmed, 0, 0, 3, Inconclusive),
            (Confirmed, 0, 2, 0, Inconclusive),
            (Likely, 1, 1, 1, Likely),
            (Likely, 0, 0, 0, Inconclusive),
            (Inconclusive, 1, 1, 1, Inconclusive),
        ];
        for (asked, cited, findings, steps, recorded) in cases {
            assert_eq!(
                Conclusion::supported_by(asked, cited, findings, steps),
                recorded,
                "{asked} with {cited} cited of {findings} findings and {steps} steps"
            );
        }
    }

    #[test]
    fn names_parse_in_any_case() {
        assert_eq!(Conclusion::parse("CONFIRMED"), Ok(Conclusion::Confirmed));
        assert_eq!(SuggestionKind::parse("Fix"), Ok(SuggestionKind::Fix));
        assert_eq!(Risk::parse(" high "), Ok(Risk::High));
        assert!(Risk::parse("extreme").is_err());
    }
}
