//! Uploaded kubeconfigs: parsed (serde_yaml), the chosen context found with its cluster, and the
//! file kubectl reads at execution, with that context as its current one.

use serde::Deserialize;
use serde_yaml::Value;

use super::ConnectError;

#[derive(Debug, Deserialize)]
struct Kubeconfig {
    #[serde(default)]
    clusters: Vec<ClusterEntry>,
    #[serde(default)]
    contexts: Vec<ContextEntry>,
    #[serde(rename = "current-context", default)]
    current_context: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ClusterEntry {
    name: String,
    cluster: ClusterFields,
}

#[derive(Debug, Deserialize)]
struct ClusterFields {
    server: String,
}

#[derive(Debug, Deserialize)]
struct ContextEntry {
    name: String,
    context: ContextFields,
}

#[derive(Debug, Deserialize)]
struct ContextFields {
    cluster: String,
}

/// What the chosen context points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenContext {
    pub context: String,
    pub cluster: String,
    pub server: String,
}

/// Parses `text` and finds `context` (the file's current context when none is asked).
pub fn choose(text: &str, context: Option<&str>) -> Result<ChosenContext, ConnectError> {
    let config: Kubeconfig = serde_yaml::from_str(text)
        .map_err(|e| ConnectError::Malformed(format!("the kubeconfig does not parse: {e}")))?;
    let wanted = context
        .map(str::to_owned)
        .or(config.current_context.clone())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ConnectError::Malformed(
                "the kubeconfig has no current-context: name one as settings.context".into(),
            )
        })?;
    let found = config
        .contexts
        .iter()
        .find(|c| c.name == wanted)
        .ok_or_else(|| {
            let known: Vec<&str> = config.contexts.iter().map(|c| c.name.as_str()).collect();
            ConnectError::Malformed(format!(
                "the kubeconfig has no context {wanted:?}; it has: {}",
                known.join(", ")
            ))
        })?;
    let cluster = &found.context.cluster;
    let server = config
        .clusters
        .iter()
        .find(|c| &c.name == cluster)
        .map(|c| c.cluster.server.clone())
        .ok_or_else(|| {
            ConnectError::Malformed(format!(
                "the context {wanted:?} names the cluster {cluster:?}, which the kubeconfig does not define"
            ))
        })?;
    Ok(ChosenContext {
        context: wanted,
        cluster: cluster.clone(),
        server,
    })
}

/// The kubeconfig kubectl is given: the uploaded one with `context` as its current context.
pub fn with_current_context(text: &str, context: &str) -> Result<String, serde_yaml::Error> {
    let mut value: Value = serde_yaml::from_str(text)?;
    if let Value::Mapping(map) = &mut value {
        map.insert(
            Value::String("current-context".into()),
            Value::String(context.into()),
        );
    }
    serde_yaml::to_string(&value)
}

/// The secret values of a kubeconfig's users (tokens, passwords, client keys), for redaction.
pub fn secret_values(text: &str) -> Vec<String> {
    let Ok(value) = serde_yaml::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let users = value.get("users").and_then(Value::as_sequence);
    for user in users.into_iter().flatten() {
        let Some(fields) = user.get("user").and_then(Value::as_mapping) else {
            continue;
        };
        for name in ["token", "password", "client-key-data"] {
            if let Some(v) = fields.get(name).and_then(Value::as_str) {
                if v.len() >= 4 {
                    found.push(v.to_owned());
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const CONFIG: &str = "apiVersion: v1
kind: Config
current-context: staging
clusters:
- name: prod-cluster
  cluster:
    server: https://prod.k8s.acme.io:6443
- name: staging-cluster
  cluster:
    server: https://staging.k8s.acme.io
contexts:
- name: prod
  context:
    cluster: prod-cluster
    user: aurora
- name: staging
  context:
    cluster: staging-cluster
    user: aurora
users:
- name: aurora
  user:
    token: kube-token-1234567890
";

    #[test]
    fn the_chosen_or_current_context_is_found_with_its_server() {
        assert_eq!(
            choose(CONFIG, Some("prod")).unwrap(),
            ChosenContext {
                context: "prod".into(),
                cluster: "prod-cluster".into(),
                server: "https://prod.k8s.acme.io:6443".into()
            }
        );
        assert_eq!(choose(CONFIG, None).unwrap().context, "staging");
    }

    #[test]
    fn a_broken_kubeconfig_says_what_is_wrong() {
        let error = choose(CONFIG, Some("dev")).unwrap_err().to_string();
        assert!(
            error.contains("no context \"dev\"") && error.contains("prod, staging"),
            "{error}"
        );
        let error = choose("clusters: [", None).unwrap_err().to_string();
        assert!(error.contains("does not parse"), "{error}");
        let error = choose(&CONFIG.replace("current-context: staging\n", ""), None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no current-context"), "{error}");
    }

    #[test]
    fn the_file_for_kubectl_has_the_chosen_context_and_tokens_are_known_secrets() {
        let written = with_current_context(CONFIG, "prod").unwrap();
        assert_eq!(choose(&written, None).unwrap().context, "prod");
        assert_eq!(secret_values(CONFIG), vec!["kube-token-1234567890"]);
    }
}
