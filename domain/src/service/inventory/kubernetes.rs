//! A Kubernetes cluster's inventory (`kubectl get <resource> --all-namespaces -o json`):
//! namespaces, deployments, statefulsets, services, ingresses, pods (for their owners) and config
//! maps (for the dependencies written in them).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{read, Builder, Inventory, InventoryError};
use crate::service::node::{EdgeKind, EdgeOrigin, NodeKey, NodeType, Provider};

/// The resources read, each by `kubectl get <resource> --all-namespaces -o json`.
pub const RESOURCES: [&str; 7] = [
    "namespaces",
    "deployments",
    "statefulsets",
    "services",
    "ingresses",
    "pods",
    "configmaps",
];

/// The command that lists `resource`.
pub fn argv(resource: &str) -> Vec<String> {
    ["kubectl", "get", resource, "--all-namespaces", "-o", "json"]
        .map(str::to_owned)
        .to_vec()
}

/// The command that names the cluster (the current context).
pub fn context_argv() -> Vec<String> {
    ["kubectl", "config", "current-context"]
        .map(str::to_owned)
        .to_vec()
}

/// Namespaces of the cluster's own machinery, left out of the graph.
fn is_system(namespace: &str) -> bool {
    namespace.starts_with("kube-")
}

#[derive(Debug, Deserialize)]
struct List<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    owner_references: Vec<Owner>,
}

#[derive(Debug, Deserialize)]
struct Owner {
    kind: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct Workload {
    metadata: Meta,
    #[serde(default)]
    spec: WorkloadSpec,
}

#[derive(Debug, Default, Deserialize)]
struct WorkloadSpec {
    #[serde(default)]
    template: PodTemplate,
}

#[derive(Debug, Default, Deserialize)]
struct PodTemplate {
    #[serde(default)]
    metadata: TemplateMeta,
    #[serde(default)]
    spec: PodSpec,
}

#[derive(Debug, Default, Deserialize)]
struct TemplateMeta {
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(default)]
    containers: Vec<Container>,
    #[serde(default)]
    init_containers: Vec<Container>,
    #[serde(default)]
    volumes: Vec<Volume>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    #[serde(default)]
    env: Vec<EnvVar>,
    #[serde(default)]
    env_from: Vec<EnvFrom>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    value_from: Option<ValueFrom>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValueFrom {
    #[serde(default)]
    config_map_key_ref: Option<NameRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvFrom {
    #[serde(default)]
    config_map_ref: Option<NameRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    #[serde(default)]
    config_map: Option<NameRef>,
}

#[derive(Debug, Deserialize)]
struct NameRef {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct Service {
    metadata: Meta,
    #[serde(default)]
    spec: ServiceSpec,
}

#[derive(Debug, Default, Deserialize)]
struct ServiceSpec {
    #[serde(default)]
    selector: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Ingress {
    metadata: Meta,
    #[serde(default)]
    spec: IngressSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IngressSpec {
    #[serde(default)]
    default_backend: Option<Backend>,
    #[serde(default)]
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
struct Rule {
    #[serde(default)]
    http: Option<Http>,
}

#[derive(Debug, Deserialize)]
struct Http {
    #[serde(default)]
    paths: Vec<Path>,
}

#[derive(Debug, Deserialize)]
struct Path {
    backend: Backend,
}

#[derive(Debug, Deserialize)]
struct Backend {
    #[serde(default)]
    service: Option<NameRef>,
}

#[derive(Debug, Deserialize)]
struct Pod {
    metadata: Meta,
}

#[derive(Debug, Deserialize)]
struct ConfigMap {
    metadata: Meta,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

/// The cluster `cluster`'s inventory from the outputs of [`RESOURCES`] (by resource; a missing
/// one counts as empty).
pub fn parse(
    cluster: &str,
    outputs: &HashMap<String, String>,
) -> Result<Inventory, InventoryError> {
    fn list<T: serde::de::DeserializeOwned>(
        outputs: &HashMap<String, String>,
        resource: &str,
    ) -> Result<Vec<T>, InventoryError> {
        let output = outputs.get(resource).map_or("", String::as_str);
        let command = argv(resource).join(" ");
        Ok(read::<List<T>>(&command, output)?.items)
    }
    let namespaces: Vec<Pod> = list(outputs, "namespaces")?;
    let deployments: Vec<Workload> = list(outputs, "deployments")?;
    let statefulsets: Vec<Workload> = list(outputs, "statefulsets")?;
    let services: Vec<Service> = list(outputs, "services")?;
    let ingresses: Vec<Ingress> = list(outputs, "ingresses")?;
    let pods: Vec<Pod> = list(outputs, "pods")?;
    let config_maps: Vec<ConfigMap> = list(outputs, "configmaps")?;

    let mut b = Builder::default();
    let Ok(cluster_key) = NodeKey::cluster(cluster) else {
        return Ok(Inventory::default());
    };
    b.node(
        cluster_key.clone(),
        cluster,
        NodeType::KubernetesCluster,
        Provider::Kubernetes,
        None,
        BTreeMap::new(),
    );
    let mut placed = Placement {
        cluster: cluster_key,
        namespaces: HashMap::new(),
    };
    for namespace in namespaces.iter().filter(|n| !is_system(&n.metadata.name)) {
        placed.namespace(&mut b, &namespace.metadata.name, &namespace.metadata.labels);
    }

    // Workloads first: services, ingresses and pods' owners point at them.
    let mut workloads: Vec<(NodeKey, &Workload)> = Vec::new();
    for (kind, list) in [("Deployment", &deployments), ("StatefulSet", &statefulsets)] {
        for w in list.iter().filter(|w| !is_system(&w.metadata.namespace)) {
            if let Some(key) = placed.workload(&mut b, &w.metadata, kind) {
                workloads.push((key, w));
            }
        }
    }
    for pod in pods.iter().filter(|p| !is_system(&p.metadata.namespace)) {
        for owner in &pod.metadata.owner_references {
            // A deployment's pods belong to a ReplicaSet named `<deployment>-<hash>`; their
            // deployment is listed already. Other owners (daemon sets, jobs) are workloads too.
            let listed = match owner.kind.as_str() {
                "ReplicaSet" => owner
                    .name
                    .rsplit_once('-')
                    .is_some_and(|(deployment, _)| is_workload(&workloads, deployment)),
                _ => is_workload(&workloads, &owner.name),
            };
            if !listed && owner.kind != "ReplicaSet" {
                let meta = Meta {
                    name: owner.name.clone(),
                    namespace: pod.metadata.namespace.clone(),
                    labels: pod.metadata.labels.clone(),
                    owner_references: Vec::new(),
                };
                placed.workload(&mut b, &meta, &owner.kind);
            }
        }
    }
    for service in services
        .iter()
        .filter(|s| !is_system(&s.metadata.namespace))
    {
        // A service without a selector routes to nothing Aurora can see (the API server's own).
        if service.spec.selector.is_empty() {
            continue;
        }
        let m = &service.metadata;
        let Ok(key) = NodeKey::parse(&m.name) else {
            continue;
        };
        let mut labels = m.labels.clone();
        labels.insert("kubernetes.namespace".into(), m.namespace.clone());
        let key = b.node(
            key,
            &m.name,
            NodeType::Service,
            Provider::Kubernetes,
            None,
            labels,
        );
        for alias in [
            m.name.clone(),
            format!("{}.{}", m.name, m.namespace),
            format!("{}.{}.svc", m.name, m.namespace),
            format!("{}.{}.svc.cluster.local", m.name, m.namespace),
        ] {
            b.alias(&alias, &key);
        }
        if let Some(ns) = placed.namespace(&mut b, &m.namespace, &BTreeMap::new()) {
            b.edge(&key, &ns, EdgeKind::DeployedIn, EdgeOrigin::Placement);
        }
        for (workload, w) in &workloads {
            let labels = &w.spec.template.metadata.labels;
            let selected = w.metadata.namespace == m.namespace
                && service
                    .spec
                    .selector
                    .iter()
                    .all(|(k, v)| labels.get(k) == Some(v));
            if selected {
                b.edge(&key, workload, EdgeKind::DependsOn, EdgeOrigin::Selector);
            }
        }
    }
    for ingress in ingresses
        .iter()
        .filter(|i| !is_system(&i.metadata.namespace))
    {
        let m = &ingress.metadata;
        let Ok(key) = NodeKey::parse(&m.name) else {
            continue;
        };
        let mut labels = m.labels.clone();
        labels.insert("kubernetes.namespace".into(), m.namespace.clone());
        labels.insert("kubernetes.kind".into(), "Ingress".into());
        let key = b.node(
            key,
            &m.name,
            NodeType::LoadBalancer,
            Provider::Kubernetes,
            None,
            labels,
        );
        if let Some(ns) = placed.namespace(&mut b, &m.namespace, &BTreeMap::new()) {
            b.edge(&key, &ns, EdgeKind::DeployedIn, EdgeOrigin::Placement);
        }
        let backends = ingress
            .spec
            .default_backend
            .iter()
            .chain(
                ingress
                    .spec
                    .rules
                    .iter()
                    .filter_map(|r| r.http.as_ref())
                    .flat_map(|h| h.paths.iter().map(|p| &p.backend)),
            )
            .filter_map(|backend| backend.service.as_ref());
        for service in backends {
            if let Ok(to) = NodeKey::parse(&service.name) {
                b.edge(&key, &to, EdgeKind::DependsOn, EdgeOrigin::IngressBackend);
            }
        }
    }
    let config: HashMap<(&str, &str), &ConfigMap> = config_maps
        .iter()
        .map(|c| ((c.metadata.namespace.as_str(), c.metadata.name.as_str()), c))
        .collect();
    for (key, w) in &workloads {
        let spec = &w.spec.template.spec;
        let mut read_maps: Vec<&str> = spec
            .volumes
            .iter()
            .filter_map(|v| v.config_map.as_ref().map(|c| c.name.as_str()))
            .collect();
        for container in spec.containers.iter().chain(&spec.init_containers) {
            for var in &container.env {
                if let Some(value) = &var.value {
                    b.edges_to_references(key, value, EdgeOrigin::EnvVar);
                }
                if let Some(map) = var
                    .value_from
                    .as_ref()
                    .and_then(|v| v.config_map_key_ref.as_ref())
                {
                    read_maps.push(&map.name);
                }
            }
            read_maps.extend(
                container
                    .env_from
                    .iter()
                    .filter_map(|e| e.config_map_ref.as_ref().map(|c| c.name.as_str())),
            );
        }
        read_maps.sort_unstable();
        read_maps.dedup();
        for name in read_maps {
            if let Some(map) = config.get(&(w.metadata.namespace.as_str(), name)) {
                for value in map.data.values() {
                    b.edges_to_references(key, value, EdgeOrigin::Config);
                }
            }
        }
    }
    Ok(b.finish())
}

fn is_workload(workloads: &[(NodeKey, &Workload)], name: &str) -> bool {
    workloads.iter().any(|(_, w)| w.metadata.name == name)
}

/// The cluster and the namespaces added so far.
struct Placement {
    cluster: NodeKey,
    namespaces: HashMap<String, NodeKey>,
}

impl Placement {
    /// The namespace's node, added (in the cluster) the first time.
    fn namespace(
        &mut self,
        b: &mut Builder,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Option<NodeKey> {
        if let Some(key) = self.namespaces.get(name) {
            return Some(key.clone());
        }
        let key = NodeKey::namespace(name).ok()?;
        let key = b.node(
            key,
            name,
            NodeType::KubernetesNamespace,
            Provider::Kubernetes,
            None,
            labels.clone(),
        );
        b.edge(
            &key,
            &self.cluster,
            EdgeKind::DeployedIn,
            EdgeOrigin::Placement,
        );
        self.namespaces.insert(name.to_owned(), key.clone());
        Some(key)
    }

    /// A workload's node, in its namespace.
    fn workload(&mut self, b: &mut Builder, m: &Meta, kind: &str) -> Option<NodeKey> {
        let key = NodeKey::parse(&m.name).ok()?;
        let mut labels = m.labels.clone();
        labels.insert("kubernetes.namespace".into(), m.namespace.clone());
        labels.insert("kubernetes.kind".into(), kind.to_owned());
        let key = b.node(
            key,
            &m.name,
            NodeType::Workload,
            Provider::Kubernetes,
            None,
            labels,
        );
        if let Some(ns) = self.namespace(b, &m.namespace, &BTreeMap::new()) {
            b.edge(&key, &ns, EdgeKind::DeployedIn, EdgeOrigin::Placement);
        }
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::inventory::ObservedEdge;

    fn fixtures() -> HashMap<String, String> {
        [
            (
                "namespaces",
                include_str!("fixtures/kubectl_namespaces.json"),
            ),
            (
                "deployments",
                include_str!("fixtures/kubectl_deployments.json"),
            ),
            (
                "statefulsets",
                include_str!("fixtures/kubectl_statefulsets.json"),
            ),
            ("services", include_str!("fixtures/kubectl_services.json")),
            ("ingresses", include_str!("fixtures/kubectl_ingresses.json")),
            ("pods", include_str!("fixtures/kubectl_pods.json")),
            (
                "configmaps",
                include_str!("fixtures/kubectl_configmaps.json"),
            ),
        ]
        .into_iter()
        .map(|(r, o)| (r.to_owned(), o.to_owned()))
        .collect()
    }

    fn key(k: &str) -> NodeKey {
        NodeKey::parse(k).expect("key")
    }

    fn has(
        inventory: &Inventory,
        from: &str,
        to: &str,
        kind: EdgeKind,
        origin: EdgeOrigin,
    ) -> bool {
        inventory.edges.contains(&ObservedEdge {
            from: key(from),
            to: key(to),
            kind,
            origin,
        })
    }

    #[test]
    fn a_cluster_gives_its_namespaces_workloads_services_and_ingresses() {
        let inventory = parse("gke-prod", &fixtures()).expect("parses");
        let nodes: Vec<(&str, NodeType)> = inventory
            .nodes
            .iter()
            .map(|n| (n.key.as_str(), n.node_type))
            .collect();
        assert_eq!(
            nodes,
            [
                ("cluster:gke-prod", NodeType::KubernetesCluster),
                ("namespace:shop", NodeType::KubernetesNamespace),
                ("namespace:monitoring", NodeType::KubernetesNamespace),
                ("checkout", NodeType::Workload),
                ("payments", NodeType::Workload),
                ("fraud", NodeType::Workload),
                ("redis", NodeType::Workload),
                ("node-exporter", NodeType::Workload),
                ("fraud-check", NodeType::Service),
                ("redis-cache", NodeType::Service),
                ("shop-web", NodeType::LoadBalancer),
            ]
        );
        let checkout = &inventory.nodes[3];
        assert_eq!(
            checkout.labels.get("app").map(String::as_str),
            Some("checkout")
        );
        assert_eq!(
            checkout
                .labels
                .get("kubernetes.namespace")
                .map(String::as_str),
            Some("shop")
        );
        assert_eq!(checkout.provider, Provider::Kubernetes);
        let exporter = &inventory.nodes[7];
        assert_eq!(
            exporter.labels.get("kubernetes.kind").map(String::as_str),
            Some("DaemonSet")
        );
    }

    #[test]
    fn dependencies_come_from_env_vars_config_maps_selectors_and_ingress_backends() {
        let inventory = parse("gke-prod", &fixtures()).expect("parses");
        use EdgeKind::*;
        use EdgeOrigin::*;
        assert!(has(&inventory, "checkout", "payments", DependsOn, EnvVar));
        assert!(has(
            &inventory,
            "payments",
            "fraud-check",
            DependsOn,
            EnvVar
        ));
        assert!(has(&inventory, "fraud-check", "fraud", DependsOn, Selector));
        assert!(has(
            &inventory,
            "checkout",
            "redis-cache",
            DependsOn,
            Config
        ));
        assert!(has(&inventory, "redis-cache", "redis", DependsOn, Selector));
        assert!(has(
            &inventory,
            "shop-web",
            "checkout",
            DependsOn,
            IngressBackend
        ));
        assert!(has(
            &inventory,
            "shop-web",
            "payments",
            DependsOn,
            IngressBackend
        ));
        assert!(has(
            &inventory,
            "checkout",
            "namespace:shop",
            DeployedIn,
            Placement
        ));
        assert!(has(
            &inventory,
            "namespace:shop",
            "cluster:gke-prod",
            DeployedIn,
            Placement
        ));
        // `orders-db` is no Kubernetes service: nothing to point at in this inventory.
        assert!(!inventory.edges.iter().any(|e| e.to.as_str() == "orders-db"));
        // A service named like its deployment is that deployment: no self-loop.
        assert!(inventory.edges.iter().all(|e| e.from != e.to));
    }

    #[test]
    fn a_bad_output_names_its_command_and_an_empty_one_is_empty() {
        let mut outputs = fixtures();
        outputs.insert("services".into(), "{\"items\": 3}".into());
        let error = parse("prod", &outputs).expect_err("refused");
        assert!(error
            .to_string()
            .contains("kubectl get services --all-namespaces -o json"));
        let empty = parse("prod", &HashMap::new()).expect("parses");
        assert_eq!(empty.nodes.len(), 1);
    }
}
