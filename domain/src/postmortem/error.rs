//! Why a postmortem refused a command.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostmortemError {
    #[error("no postmortem has been written yet: it is generated when the incident resolves")]
    NotGenerated,
    #[error("the edit was made on version {base_version}, but version {latest} is the latest now: reload it and edit again")]
    StaleBase { base_version: u32, latest: u32 },
    #[error("there is no version {version} (the latest is {latest})")]
    UnknownVersion { version: u32, latest: u32 },
    #[error("a postmortem cannot be empty")]
    Empty,
    #[error("a postmortem may hold at most {max} characters, this one has {len}")]
    TooLong { len: usize, max: usize },
}
