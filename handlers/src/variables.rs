//! The variables every settings reader takes ([`Variables`]): the process's environment in
//! production, pairs in a test, so reading is tested without changing the environment.
//!
//! A map rather than a lookup closure because one reader lists variables: the object store
//! passes on every `AWS_*` variable, whose names object_store keeps open-ended.

use std::collections::BTreeMap;

/// Named settings values. A value of only blanks counts as unset, for every reader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables(BTreeMap<String, String>);

impl Variables {
    /// The process's environment variables whose names and values are Unicode (others name
    /// nothing Aurora reads).
    pub fn from_env() -> Self {
        std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect()
    }

    /// `name`'s value, unless it is unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The set (not blank) variables whose names start with `prefix`, by name.
    pub fn starting_with<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter(move |(name, _)| name.starts_with(prefix))
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .filter(|(_, value)| !value.trim().is_empty())
    }

    /// These variables with `name` set to `value` when it is given (a command line's flag over
    /// its variable). A blank `value` still wins, and reads as unset.
    pub fn overridden(mut self, name: &str, value: Option<&str>) -> Self {
        if let Some(value) = value {
            self.0.insert(name.to_owned(), value.to_owned());
        }
        self
    }
}

/// From pairs: `Variables::from_iter([("VAULT_ADDR", "http://vault:8200")])`, what the tests of
/// every reader build theirs with.
impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Variables {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(pairs: I) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_read_as_unset_and_a_prefix_lists_only_set_ones() {
        let vars = Variables::from_iter([
            ("AWS_REGION", "eu-west-1"),
            ("AWS_SESSION_TOKEN", "  "),
            ("AURORA_KB_ALPHA", ""),
            ("HOME", "/root"),
        ]);
        assert_eq!(vars.get("AWS_REGION"), Some("eu-west-1"));
        assert_eq!(vars.get("AWS_SESSION_TOKEN"), None);
        assert_eq!(vars.get("AURORA_KB_ALPHA"), None);
        assert_eq!(vars.get("MISSING"), None);
        assert_eq!(
            vars.starting_with("AWS_").collect::<Vec<_>>(),
            [("AWS_REGION", "eu-west-1")]
        );
    }

    #[test]
    fn a_given_override_wins_even_blank_and_a_missing_one_changes_nothing() {
        let vars = Variables::from_iter([("VAULT_ADDR", "http://env:8200")]);
        assert_eq!(
            vars.clone()
                .overridden("VAULT_ADDR", Some("http://flag:8200"))
                .get("VAULT_ADDR"),
            Some("http://flag:8200")
        );
        assert_eq!(
            vars.clone()
                .overridden("VAULT_ADDR", None)
                .get("VAULT_ADDR"),
            Some("http://env:8200")
        );
        assert_eq!(
            vars.overridden("VAULT_ADDR", Some("")).get("VAULT_ADDR"),
            None
        );
    }
}
