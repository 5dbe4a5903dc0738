//! The agent in a background investigation (SPEC §4): the same run as a chat answer, in a
//! session of its own bound to the incident, with three differences — the RCA prompt and tools
//! ([`prompt`]), the gate in background mode (what would need a person's confirmation is refused),
//! and every step also recorded on the `Investigation` ([`journal`]). Every change of an
//! investigation's status is [`counted`] for `/metrics`.

pub mod counted;
pub mod journal;
pub mod prompt;
pub mod resume;

pub use journal::Journal;

use uuid::Uuid;

/// Who a background investigation's session belongs to (no person: nobody can open it as theirs).
pub const OWNER: &str = "aurora-rca";

/// The background session investigation `run` runs in.
pub fn session_id(run: Uuid) -> Uuid {
    Uuid::new_v5(&run, b"session")
}

/// The question that starts it (its answer is the investigation's last text).
pub fn question_id(run: Uuid) -> Uuid {
    Uuid::new_v5(&run, b"question")
}
