//! What a node is (its key, type, provider, region, labels) and what an edge says.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest node key, in bytes.
pub const MAX_KEY_LEN: usize = 300;

/// A node's name within its tenant, lower-cased: what alerts, changes and inventories call it.
/// Workloads, services and cloud resources are keyed by their name (so the deployment
/// `checkout`, the Kubernetes service `checkout` and an alert on `checkout` are one node);
/// containers that share names with services are prefixed (`cluster:prod`, `namespace:shop`).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct NodeKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeKeyError {
    #[error("a service name cannot be empty")]
    Empty,
    #[error("a service name may hold at most {MAX_KEY_LEN} bytes, {0:?} has more")]
    TooLong(String),
    #[error("a service name cannot hold control characters: {0:?}")]
    Control(String),
}

impl NodeKey {
    pub fn parse(value: &str) -> Result<Self, NodeKeyError> {
        let value = value.trim().to_lowercase();
        if value.is_empty() {
            return Err(NodeKeyError::Empty);
        }
        if value.len() > MAX_KEY_LEN {
            return Err(NodeKeyError::TooLong(value));
        }
        if value.chars().any(char::is_control) {
            return Err(NodeKeyError::Control(value));
        }
        Ok(Self(value))
    }

    /// The key of a Kubernetes cluster (a context's or a managed cluster's name).
    pub fn cluster(name: &str) -> Result<Self, NodeKeyError> {
        Self::parse(&format!("cluster:{}", name.trim()))
    }

    /// The key of a Kubernetes namespace.
    pub fn namespace(name: &str) -> Result<Self, NodeKeyError> {
        Self::parse(&format!("namespace:{}", name.trim()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeKey {
    type Error = NodeKeyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<NodeKey> for String {
    fn from(value: NodeKey) -> Self {
        value.0
    }
}

impl fmt::Display for NodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of thing a node is (SPEC §8).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NodeType {
    /// A service known only by name (from an alert, a change or a Kubernetes service).
    Service,
    /// A Kubernetes deployment or statefulset.
    Workload,
    KubernetesCluster,
    KubernetesNamespace,
    Vm,
    Database,
    Cache,
    LoadBalancer,
    ServerlessFunction,
    /// A managed container or web app (Cloud Run, App Service).
    WebApp,
    MessageQueue,
    StorageBucket,
}

impl NodeType {
    pub const ALL: [NodeType; 12] = [
        Self::Service,
        Self::Workload,
        Self::KubernetesCluster,
        Self::KubernetesNamespace,
        Self::Vm,
        Self::Database,
        Self::Cache,
        Self::LoadBalancer,
        Self::ServerlessFunction,
        Self::WebApp,
        Self::MessageQueue,
        Self::StorageBucket,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Workload => "workload",
            Self::KubernetesCluster => "kubernetes_cluster",
            Self::KubernetesNamespace => "kubernetes_namespace",
            Self::Vm => "vm",
            Self::Database => "database",
            Self::Cache => "cache",
            Self::LoadBalancer => "load_balancer",
            Self::ServerlessFunction => "serverless_function",
            Self::WebApp => "web_app",
            Self::MessageQueue => "message_queue",
            Self::StorageBucket => "storage_bucket",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
}

/// Where a node was found.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Kubernetes,
    Gcp,
    Aws,
    Azure,
    /// Named by an alert, a change or a declared edge; no inventory has it.
    Observed,
}

impl Provider {
    pub const ALL: [Provider; 5] = [
        Self::Kubernetes,
        Self::Gcp,
        Self::Aws,
        Self::Azure,
        Self::Observed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kubernetes => "kubernetes",
            Self::Gcp => "gcp",
            Self::Aws => "aws",
            Self::Azure => "azure",
            Self::Observed => "observed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }
}

/// Everything a sighting says about a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeFacts {
    pub key: NodeKey,
    /// The name as its provider spells it.
    pub name: String,
    pub node_type: NodeType,
    pub provider: Provider,
    pub region: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl NodeFacts {
    /// A node known only by name (an alert's or a change's service, a declared edge's end).
    pub fn observed(key: NodeKey, name: &str) -> Self {
        Self {
            key,
            name: name.trim().to_owned(),
            node_type: NodeType::Service,
            provider: Provider::Observed,
            region: None,
            labels: BTreeMap::new(),
        }
    }
}

/// What an edge says about its two ends.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EdgeKind {
    /// `from` needs `to` to work.
    DependsOn,
    /// `from` runs inside `to` (a workload in a namespace, a namespace in a cluster).
    DeployedIn,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DependsOn => "DEPENDS_ON",
            Self::DeployedIn => "DEPLOYED_IN",
        }
    }
}

/// How an edge was found.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EdgeOrigin {
    /// A person said so (`PUT /api/graph/edges`).
    Declared,
    /// A service's host name in a container's environment variable.
    EnvVar,
    /// An ingress routes to the service.
    IngressBackend,
    /// A service's host name in a config map.
    Config,
    /// Kubernetes placement (namespace, cluster) or an owner reference.
    Placement,
    /// A Kubernetes service's selector picks the workload's pods.
    Selector,
    /// A link the cloud inventory states (a function's event source, a target group's targets…).
    CloudInventory,
}

impl EdgeOrigin {
    /// How sure a discovery of this kind is, unless it says otherwise.
    pub fn confidence(self) -> f64 {
        match self {
            Self::Declared | Self::Placement | Self::Selector => 1.0,
            Self::IngressBackend | Self::CloudInventory => 0.9,
            Self::EnvVar => 0.8,
            Self::Config => 0.6,
        }
    }
}

/// An edge leaving a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Edge {
    pub to: Uuid,
    pub to_key: NodeKey,
    pub kind: EdgeKind,
    /// 0.0..=1.0: a ratio, so `f64`.
    pub confidence: f64,
    pub origin: EdgeOrigin,
    /// Who declared it (declared edges only).
    pub declared_by: Option<String>,
}
