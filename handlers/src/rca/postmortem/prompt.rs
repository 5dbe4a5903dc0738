//! What the model is asked when it writes a postmortem: the sections of the template, and the
//! record — the template's own text, which holds every fact Aurora has (timeline, comments, the
//! investigation's conclusion, findings and suggestions). The model rewrites the record into
//! prose; it is told to add no fact the record lacks.

use aurora_domain::postmortem::template::SECTIONS;
use aurora_domain::IncidentId;
use serde_json::{json, Value};

/// How the request begins (what a scripted model in the tests recognises it by).
pub const ASK: &str = "Write the postmortem of incident";

pub fn system_prompt() -> String {
    let sections: Vec<String> = SECTIONS.iter().map(|s| format!("## {s}")).collect();
    format!(
        "You write blameless incident postmortems for an on-call team. Write Markdown: a title \
line `# Postmortem: <incident title>`, then exactly these sections, in this order:\n{}\n\n\
Use only the facts of the record you are given: times, alerts, comments, status changes, the \
investigation's conclusion, findings and suggestions. Do not invent causes, numbers or people. \
Where the record says nothing (user impact, for instance), say that it is not recorded. Keep the \
timeline's times as the record gives them (UTC). Under Action items, list concrete follow-ups as \
Markdown task items (`- [ ] …`), starting with the investigation's suggestions. Answer with the \
postmortem only.",
        sections.join("\n")
    )
}

/// The messages of the one completion.
pub fn messages(incident: IncidentId, record: &str) -> Vec<Value> {
    vec![
        json!({"role": "system", "content": system_prompt()}),
        json!({
            "role": "user",
            "content": format!("{ASK} {incident}. The record, as Aurora keeps it:\n\n{record}"),
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_names_every_section_in_order() {
        let prompt = system_prompt();
        let mut last = 0;
        for section in SECTIONS {
            let at = prompt
                .find(&format!("## {section}\n"))
                .or_else(|| prompt.find(&format!("## {section}\n\n")))
                .or_else(|| prompt.find(&format!("## {section}")))
                .unwrap_or_else(|| panic!("{section} missing"));
            assert!(at >= last, "{section} out of order");
            last = at;
        }
    }
}
