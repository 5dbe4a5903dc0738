//! An Azure subscription's inventory (`az … list -o json`): VMs, AKS clusters, SQL servers and App
//! Service apps. (Which app talks to which server is in each app's settings, one call per app;
//! not read yet, so Azure gives nodes without dependencies.)

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{read, Builder, Inventory, InventoryError};
use crate::service::node::{NodeKey, NodeType, Provider};

/// The lists read: a name for each and its command.
pub const COMMANDS: [(&str, &[&str]); 4] = [
    ("vms", &["az", "vm", "list", "-o", "json"]),
    ("clusters", &["az", "aks", "list", "-o", "json"]),
    ("sql", &["az", "sql", "server", "list", "-o", "json"]),
    ("webapps", &["az", "webapp", "list", "-o", "json"]),
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    name: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    resource_group: String,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    fully_qualified_domain_name: Option<String>,
    #[serde(default)]
    default_host_name: Option<String>,
}

/// Azure's display locations (`West Europe`) and names (`westeurope`) as one region.
fn region(location: &str) -> Option<String> {
    let region: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    (!region.is_empty()).then_some(region)
}

/// The subscription's inventory from the outputs of [`COMMANDS`] (by name; a missing one is
/// empty).
pub fn parse(outputs: &HashMap<String, String>) -> Result<Inventory, InventoryError> {
    let mut b = Builder::default();
    for (name, argv) in COMMANDS {
        let output = outputs.get(name).map_or("", String::as_str);
        let resources: Vec<Resource> = read(&argv.join(" "), output)?;
        for r in resources {
            let key = match name {
                "clusters" => NodeKey::cluster(&r.name),
                _ => NodeKey::parse(&r.name),
            };
            let Ok(key) = key else { continue };
            let node_type = match name {
                "vms" => NodeType::Vm,
                "clusters" => NodeType::KubernetesCluster,
                "sql" => NodeType::Database,
                _ => NodeType::WebApp,
            };
            let mut labels = r.tags.unwrap_or_default();
            labels.insert("azure.resource_group".into(), r.resource_group);
            let key = b.node(
                key,
                &r.name,
                node_type,
                Provider::Azure,
                region(&r.location),
                labels,
            );
            for host in [r.fully_qualified_domain_name, r.default_host_name]
                .into_iter()
                .flatten()
            {
                b.alias(&host, &key);
            }
        }
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_gives_its_resources() {
        let outputs: HashMap<String, String> = [
            ("vms", include_str!("fixtures/az_vm_list.json")),
            ("clusters", include_str!("fixtures/az_aks_list.json")),
            ("sql", include_str!("fixtures/az_sql_server_list.json")),
            ("webapps", include_str!("fixtures/az_webapp_list.json")),
        ]
        .into_iter()
        .map(|(n, o)| (n.to_owned(), o.to_owned()))
        .collect();
        let inventory = parse(&outputs).expect("parses");
        let nodes: Vec<(&str, NodeType, Option<&str>)> = inventory
            .nodes
            .iter()
            .map(|n| (n.key.as_str(), n.node_type, n.region.as_deref()))
            .collect();
        assert_eq!(
            nodes,
            [
                ("jumpbox", NodeType::Vm, Some("westeurope")),
                (
                    "cluster:apps-aks",
                    NodeType::KubernetesCluster,
                    Some("westeurope")
                ),
                ("crm-sql", NodeType::Database, Some("westeurope")),
                ("crm-portal", NodeType::WebApp, Some("westeurope")),
            ]
        );
        assert!(inventory.edges.is_empty());
    }
}
