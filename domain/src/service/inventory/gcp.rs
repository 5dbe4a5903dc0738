//! A Google Cloud project's inventory (`gcloud … list --format=json`): compute instances, GKE
//! clusters, Cloud SQL, Cloud Run, Pub/Sub topics and load balancers (forwarding rules).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{last_segment, read, region_of_zone, Builder, Inventory, InventoryError};
use crate::service::node::{EdgeKind, EdgeOrigin, NodeKey, NodeType, Provider};

/// The lists read: a name for each and its command.
pub const COMMANDS: [(&str, &[&str]); 6] = [
    (
        "instances",
        &["gcloud", "compute", "instances", "list", "--format=json"],
    ),
    (
        "clusters",
        &["gcloud", "container", "clusters", "list", "--format=json"],
    ),
    (
        "sql",
        &["gcloud", "sql", "instances", "list", "--format=json"],
    ),
    (
        "run",
        &["gcloud", "run", "services", "list", "--format=json"],
    ),
    (
        "topics",
        &["gcloud", "pubsub", "topics", "list", "--format=json"],
    ),
    (
        "forwarding_rules",
        &[
            "gcloud",
            "compute",
            "forwarding-rules",
            "list",
            "--format=json",
        ],
    ),
];

#[derive(Debug, Deserialize)]
struct Instance {
    name: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cluster {
    name: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    resource_labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqlInstance {
    name: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    connection_name: String,
    #[serde(default)]
    database_version: String,
    #[serde(default)]
    settings: SqlSettings,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqlSettings {
    #[serde(default)]
    user_labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct RunService {
    metadata: RunMeta,
    #[serde(default)]
    spec: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct RunMeta {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Topic {
    name: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct ForwardingRule {
    name: String,
    #[serde(default)]
    region: Option<String>,
}

/// The project's inventory from the outputs of [`COMMANDS`] (by name; a missing one is empty).
pub fn parse(outputs: &HashMap<String, String>) -> Result<Inventory, InventoryError> {
    fn list<T: serde::de::DeserializeOwned>(
        outputs: &HashMap<String, String>,
        name: &str,
    ) -> Result<Vec<T>, InventoryError> {
        let command = COMMANDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, argv)| argv.join(" "))
            .unwrap_or_default();
        read(&command, outputs.get(name).map_or("", String::as_str))
    }
    let mut b = Builder::default();
    let gcp = Provider::Gcp;
    for i in list::<Instance>(outputs, "instances")? {
        if let Ok(key) = NodeKey::parse(&i.name) {
            let region = Some(region_of_zone(last_segment(&i.zone)));
            b.node(key, &i.name, NodeType::Vm, gcp, region, i.labels);
        }
    }
    for c in list::<Cluster>(outputs, "clusters")? {
        if let Ok(key) = NodeKey::cluster(&c.name) {
            let region = Some(c.location).filter(|l| !l.is_empty());
            b.node(
                key,
                &c.name,
                NodeType::KubernetesCluster,
                gcp,
                region,
                c.resource_labels,
            );
        }
    }
    for s in list::<SqlInstance>(outputs, "sql")? {
        if let Ok(key) = NodeKey::parse(&s.name) {
            let mut labels = s.settings.user_labels;
            labels.insert("gcp.database_version".into(), s.database_version);
            let region = Some(s.region).filter(|r| !r.is_empty());
            let key = b.node(key, &s.name, NodeType::Database, gcp, region, labels);
            b.alias(&s.connection_name, &key);
            b.alias(&s.name, &key);
        }
    }
    for t in list::<Topic>(outputs, "topics")? {
        let name = last_segment(&t.name).to_owned();
        if let Ok(key) = NodeKey::parse(&name) {
            let key = b.node(key, &name, NodeType::MessageQueue, gcp, None, t.labels);
            b.alias(&t.name, &key);
            b.alias(&name, &key);
        }
    }
    for f in list::<ForwardingRule>(outputs, "forwarding_rules")? {
        if let Ok(key) = NodeKey::parse(&f.name) {
            let region = f.region.as_deref().map(|r| last_segment(r).to_owned());
            b.node(
                key,
                &f.name,
                NodeType::LoadBalancer,
                gcp,
                region,
                BTreeMap::new(),
            );
        }
    }
    // Cloud Run last: its Cloud SQL connections and environment name the others.
    for r in list::<RunService>(outputs, "run")? {
        let Ok(key) = NodeKey::parse(&r.metadata.name) else {
            continue;
        };
        let region = r
            .metadata
            .labels
            .get("cloud.googleapis.com/location")
            .cloned();
        let key = b.node(
            key,
            &r.metadata.name,
            NodeType::WebApp,
            gcp,
            region,
            r.metadata.labels,
        );
        let template = &r.spec["template"];
        if let Some(sql) =
            template["metadata"]["annotations"]["run.googleapis.com/cloudsql-instances"].as_str()
        {
            for to in b.references(sql) {
                b.edge(&key, &to, EdgeKind::DependsOn, EdgeOrigin::CloudInventory);
            }
        }
        let containers = template["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for env in containers
            .iter()
            .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
        {
            if let Some(value) = env["value"].as_str() {
                b.edges_to_references(&key, value, EdgeOrigin::EnvVar);
            }
        }
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::inventory::ObservedEdge;

    pub(crate) fn fixtures() -> HashMap<String, String> {
        [
            (
                "instances",
                include_str!("fixtures/gcloud_compute_instances.json"),
            ),
            (
                "clusters",
                include_str!("fixtures/gcloud_container_clusters.json"),
            ),
            ("sql", include_str!("fixtures/gcloud_sql_instances.json")),
            ("run", include_str!("fixtures/gcloud_run_services.json")),
            ("topics", include_str!("fixtures/gcloud_pubsub_topics.json")),
            (
                "forwarding_rules",
                include_str!("fixtures/gcloud_forwarding_rules.json"),
            ),
        ]
        .into_iter()
        .map(|(n, o)| (n.to_owned(), o.to_owned()))
        .collect()
    }

    #[test]
    fn a_project_gives_its_resources_with_regions() {
        let inventory = parse(&fixtures()).expect("parses");
        let nodes: Vec<(&str, NodeType, Option<&str>)> = inventory
            .nodes
            .iter()
            .map(|n| (n.key.as_str(), n.node_type, n.region.as_deref()))
            .collect();
        assert_eq!(
            nodes,
            [
                ("bastion-1", NodeType::Vm, Some("europe-west1")),
                (
                    "cluster:prod",
                    NodeType::KubernetesCluster,
                    Some("europe-west1")
                ),
                ("orders-db", NodeType::Database, Some("europe-west1")),
                ("order-events", NodeType::MessageQueue, None),
                ("audit-log", NodeType::MessageQueue, None),
                ("shop-https", NodeType::LoadBalancer, None),
                ("invoice-api", NodeType::WebApp, Some("europe-west1")),
            ]
        );
        assert!(inventory.nodes.iter().all(|n| n.provider == Provider::Gcp));
    }

    #[test]
    fn cloud_run_depends_on_its_cloud_sql_and_the_topics_it_names() {
        let inventory = parse(&fixtures()).expect("parses");
        let edge = |to: &str, origin| ObservedEdge {
            from: NodeKey::parse("invoice-api").expect("key"),
            to: NodeKey::parse(to).expect("key"),
            kind: EdgeKind::DependsOn,
            origin,
        };
        assert_eq!(
            inventory.edges,
            [
                edge("orders-db", EdgeOrigin::CloudInventory),
                edge("order-events", EdgeOrigin::EnvVar)
            ]
        );
    }
}
