//! A tool call's arguments as the model sent them, read with errors the model is told (it reads
//! them and tries again, so each names the tool, the argument and what was expected).

use serde_json::{Map, Value};
use uuid::Uuid;

/// The arguments of one call of `tool`.
pub struct Args<'a> {
    tool: &'a str,
    map: Map<String, Value>,
}

impl<'a> Args<'a> {
    /// Reads `arguments` (a JSON object; empty means none).
    pub fn parse(tool: &'a str, arguments: &str) -> Result<Self, String> {
        let arguments = if arguments.trim().is_empty() {
            "{}"
        } else {
            arguments
        };
        let map = serde_json::from_str(arguments)
            .map_err(|e| format!("the arguments of {tool} are not a JSON object: {e}"))?;
        Ok(Self { tool, map })
    }

    /// A text argument, trimmed; absent when missing or blank.
    pub fn text(&self, key: &str) -> Option<String> {
        self.map
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    pub fn required(&self, key: &str) -> Result<String, String> {
        self.text(key)
            .ok_or_else(|| format!("{} needs `{key}`", self.tool))
    }

    /// A whole number from 1 to `max`, `default` when absent.
    pub fn number(&self, key: &str, default: i64, max: i64) -> Result<i64, String> {
        Ok(self.optional_number(key, max)?.unwrap_or(default))
    }

    /// A whole number from 1 to `max`, if given.
    pub fn optional_number(&self, key: &str, max: i64) -> Result<Option<i64>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .filter(|n| (1..=max).contains(n))
                .map(Some)
                .ok_or_else(|| format!("`{key}` must be a whole number from 1 to {max}")),
        }
    }

    /// A UUID argument, if given.
    pub fn uuid(&self, key: &str) -> Result<Option<Uuid>, String> {
        self.text(key)
            .map(|value| {
                Uuid::parse_str(&value).map_err(|_| format!("`{key}` {value:?} is not a UUID"))
            })
            .transpose()
    }

    pub fn required_uuid(&self, key: &str) -> Result<Uuid, String> {
        self.uuid(key)?
            .ok_or_else(|| format!("{} needs `{key}`", self.tool))
    }
}
