//! An AWS account's inventory (`aws … --output json`): EC2 instances, EKS clusters, RDS, load
//! balancers and their target groups, Lambda (with its event sources), SQS queues and SNS topics.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{last_segment, read, region_of_zone, Builder, Inventory, InventoryError};
use crate::service::node::{EdgeKind, EdgeOrigin, NodeKey, NodeType, Provider};

/// The lists read: a name for each and its command.
pub const COMMANDS: [(&str, &[&str]); 9] = [
    (
        "instances",
        &["aws", "ec2", "describe-instances", "--output", "json"],
    ),
    (
        "clusters",
        &["aws", "eks", "list-clusters", "--output", "json"],
    ),
    (
        "databases",
        &["aws", "rds", "describe-db-instances", "--output", "json"],
    ),
    (
        "load_balancers",
        &[
            "aws",
            "elbv2",
            "describe-load-balancers",
            "--output",
            "json",
        ],
    ),
    (
        "target_groups",
        &["aws", "elbv2", "describe-target-groups", "--output", "json"],
    ),
    (
        "functions",
        &["aws", "lambda", "list-functions", "--output", "json"],
    ),
    (
        "event_sources",
        &[
            "aws",
            "lambda",
            "list-event-source-mappings",
            "--output",
            "json",
        ],
    ),
    ("queues", &["aws", "sqs", "list-queues", "--output", "json"]),
    ("topics", &["aws", "sns", "list-topics", "--output", "json"]),
];

#[derive(Debug, Deserialize)]
struct Tag {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value", default)]
    value: String,
}

fn tags(list: Vec<Tag>) -> BTreeMap<String, String> {
    list.into_iter().map(|t| (t.key, t.value)).collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Instances {
    #[serde(default)]
    reservations: Vec<Reservation>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reservation {
    #[serde(default)]
    instances: Vec<Instance>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Instance {
    instance_id: String,
    #[serde(default)]
    placement: Placement,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Placement {
    #[serde(default)]
    availability_zone: String,
}

#[derive(Debug, Default, Deserialize)]
struct Clusters {
    #[serde(default)]
    clusters: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Databases {
    #[serde(default, rename = "DBInstances")]
    db_instances: Vec<Database>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Database {
    #[serde(rename = "DBInstanceIdentifier")]
    id: String,
    #[serde(default)]
    availability_zone: String,
    #[serde(default)]
    engine: String,
    #[serde(default)]
    endpoint: Option<Endpoint>,
    #[serde(default)]
    tag_list: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Endpoint {
    #[serde(default)]
    address: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoadBalancers {
    #[serde(default)]
    load_balancers: Vec<LoadBalancer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LoadBalancer {
    load_balancer_name: String,
    load_balancer_arn: String,
    #[serde(default, rename = "DNSName")]
    dns_name: String,
    #[serde(default)]
    availability_zones: Vec<Zone>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Zone {
    #[serde(default)]
    zone_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetGroups {
    #[serde(default)]
    target_groups: Vec<TargetGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetGroup {
    target_group_name: String,
    #[serde(default)]
    load_balancer_arns: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Functions {
    #[serde(default)]
    functions: Vec<Function>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Function {
    function_name: String,
    function_arn: String,
    #[serde(default)]
    runtime: String,
    #[serde(default)]
    environment: Option<Environment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Environment {
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EventSources {
    #[serde(default)]
    event_source_mappings: Vec<EventSource>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EventSource {
    #[serde(default)]
    event_source_arn: String,
    #[serde(default)]
    function_arn: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Queues {
    #[serde(default)]
    queue_urls: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Topics {
    #[serde(default)]
    topics: Vec<TopicArn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TopicArn {
    topic_arn: String,
}

/// The region of an ARN (`arn:aws:sqs:eu-west-1:123:queue` → `eu-west-1`).
fn arn_region(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
}

/// The account's inventory from the outputs of [`COMMANDS`] (by name; a missing one is empty).
/// `region` is the CLI's configured region, for what the output does not place.
pub fn parse(
    outputs: &HashMap<String, String>,
    region: Option<&str>,
) -> Result<Inventory, InventoryError> {
    fn get<T: serde::de::DeserializeOwned + Default>(
        outputs: &HashMap<String, String>,
        name: &str,
    ) -> Result<T, InventoryError> {
        let command = COMMANDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, argv)| argv.join(" "))
            .unwrap_or_default();
        read(&command, outputs.get(name).map_or("", String::as_str))
    }
    let mut b = Builder::default();
    let aws = Provider::Aws;
    for i in get::<Instances>(outputs, "instances")?
        .reservations
        .into_iter()
        .flat_map(|r| r.instances)
    {
        let tags = tags(i.tags);
        let name = tags.get("Name").cloned().unwrap_or(i.instance_id.clone());
        if let Ok(key) = NodeKey::parse(&name) {
            let zone = i.placement.availability_zone;
            let region = (!zone.is_empty()).then(|| region_of_zone(&zone));
            let key = b.node(key, &name, NodeType::Vm, aws, region, tags);
            b.alias(&i.instance_id, &key);
        }
    }
    for c in get::<Clusters>(outputs, "clusters")?.clusters {
        if let Ok(key) = NodeKey::cluster(&c) {
            let region = region.map(str::to_owned);
            b.node(
                key,
                &c,
                NodeType::KubernetesCluster,
                aws,
                region,
                BTreeMap::new(),
            );
        }
    }
    for d in get::<Databases>(outputs, "databases")?.db_instances {
        if let Ok(key) = NodeKey::parse(&d.id) {
            let mut labels = tags(d.tag_list);
            labels.insert("aws.engine".into(), d.engine.clone());
            let node_type = if d.engine.contains("redis") {
                NodeType::Cache
            } else {
                NodeType::Database
            };
            let region =
                (!d.availability_zone.is_empty()).then(|| region_of_zone(&d.availability_zone));
            let key = b.node(key, &d.id, node_type, aws, region, labels);
            if let Some(endpoint) = d.endpoint {
                b.alias(&endpoint.address, &key);
            }
        }
    }
    for q in get::<Queues>(outputs, "queues")?.queue_urls {
        let name = last_segment(&q).to_owned();
        if let Ok(key) = NodeKey::parse(&name) {
            // https://sqs.<region>.amazonaws.com/<account>/<name>
            let region = q.split('.').nth(1).map(str::to_owned);
            let key = b.node(
                key,
                &name,
                NodeType::MessageQueue,
                aws,
                region,
                BTreeMap::new(),
            );
            b.alias(&q, &key);
            b.alias(&name, &key);
        }
    }
    for t in get::<Topics>(outputs, "topics")?.topics {
        let name = t
            .topic_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        if let Ok(key) = NodeKey::parse(&name) {
            let key = b.node(
                key,
                &name,
                NodeType::MessageQueue,
                aws,
                arn_region(&t.topic_arn),
                BTreeMap::new(),
            );
            b.alias(&t.topic_arn, &key);
        }
    }
    let mut balancers: HashMap<String, NodeKey> = HashMap::new();
    for lb in get::<LoadBalancers>(outputs, "load_balancers")?.load_balancers {
        if let Ok(key) = NodeKey::parse(&lb.load_balancer_name) {
            let region = lb
                .availability_zones
                .first()
                .map(|z| region_of_zone(&z.zone_name))
                .or_else(|| arn_region(&lb.load_balancer_arn));
            let key = b.node(
                key,
                &lb.load_balancer_name,
                NodeType::LoadBalancer,
                aws,
                region,
                BTreeMap::new(),
            );
            b.alias(&lb.dns_name, &key);
            balancers.insert(lb.load_balancer_arn, key);
        }
    }
    // A target group is the service behind its load balancers.
    for tg in get::<TargetGroups>(outputs, "target_groups")?.target_groups {
        if let Ok(key) = NodeKey::parse(&tg.target_group_name) {
            let key = b.node(
                key,
                &tg.target_group_name,
                NodeType::Service,
                aws,
                region.map(str::to_owned),
                BTreeMap::new(),
            );
            for lb in tg
                .load_balancer_arns
                .iter()
                .filter_map(|arn| balancers.get(arn))
            {
                b.edge(lb, &key, EdgeKind::DependsOn, EdgeOrigin::CloudInventory);
            }
        }
    }
    let mut functions: HashMap<String, NodeKey> = HashMap::new();
    let listed = get::<Functions>(outputs, "functions")?.functions;
    for f in &listed {
        if let Ok(key) = NodeKey::parse(&f.function_name) {
            let labels = BTreeMap::from([("aws.runtime".to_owned(), f.runtime.clone())]);
            let key = b.node(
                key,
                &f.function_name,
                NodeType::ServerlessFunction,
                aws,
                arn_region(&f.function_arn),
                labels,
            );
            functions.insert(f.function_arn.clone(), key);
        }
    }
    for f in listed {
        let Some(key) = functions.get(&f.function_arn).cloned() else {
            continue;
        };
        for value in f.environment.iter().flat_map(|e| e.variables.values()) {
            b.edges_to_references(&key, value, EdgeOrigin::EnvVar);
        }
    }
    for m in get::<EventSources>(outputs, "event_sources")?.event_source_mappings {
        let source = m.event_source_arn.rsplit(':').next().unwrap_or_default();
        if let (Some(function), Ok(source)) =
            (functions.get(&m.function_arn), NodeKey::parse(source))
        {
            let function = function.clone();
            b.edge(
                &function,
                &source,
                EdgeKind::DependsOn,
                EdgeOrigin::CloudInventory,
            );
        }
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::inventory::ObservedEdge;

    fn fixtures() -> HashMap<String, String> {
        [
            (
                "instances",
                include_str!("fixtures/aws_ec2_describe_instances.json"),
            ),
            (
                "clusters",
                include_str!("fixtures/aws_eks_list_clusters.json"),
            ),
            (
                "databases",
                include_str!("fixtures/aws_rds_describe_db_instances.json"),
            ),
            (
                "load_balancers",
                include_str!("fixtures/aws_elbv2_describe_load_balancers.json"),
            ),
            (
                "target_groups",
                include_str!("fixtures/aws_elbv2_describe_target_groups.json"),
            ),
            (
                "functions",
                include_str!("fixtures/aws_lambda_list_functions.json"),
            ),
            (
                "event_sources",
                include_str!("fixtures/aws_lambda_list_event_source_mappings.json"),
            ),
            ("queues", include_str!("fixtures/aws_sqs_list_queues.json")),
            ("topics", include_str!("fixtures/aws_sns_list_topics.json")),
        ]
        .into_iter()
        .map(|(n, o)| (n.to_owned(), o.to_owned()))
        .collect()
    }

    #[test]
    fn an_account_gives_its_resources() {
        let inventory = parse(&fixtures(), Some("eu-west-1")).expect("parses");
        let nodes: Vec<(&str, NodeType)> = inventory
            .nodes
            .iter()
            .map(|n| (n.key.as_str(), n.node_type))
            .collect();
        assert_eq!(
            nodes,
            [
                ("ledger-worker", NodeType::Vm),
                ("i-0f9e8d7c6b5a43210", NodeType::Vm),
                ("cluster:ledger-prod", NodeType::KubernetesCluster),
                ("ledger-db", NodeType::Database),
                ("settlements", NodeType::MessageQueue),
                ("settlements-dlq", NodeType::MessageQueue),
                ("ledger-alerts", NodeType::MessageQueue),
                ("ledger-alb", NodeType::LoadBalancer),
                ("ledger-api", NodeType::Service),
                ("settle-payments", NodeType::ServerlessFunction),
            ]
        );
        assert!(inventory
            .nodes
            .iter()
            .all(|n| n.provider == Provider::Aws && n.region.as_deref() == Some("eu-west-1")));
    }

    #[test]
    fn lambda_depends_on_its_event_source_and_the_database_it_names() {
        let inventory = parse(&fixtures(), None).expect("parses");
        let edge = |from: &str, to: &str, origin| ObservedEdge {
            from: NodeKey::parse(from).expect("key"),
            to: NodeKey::parse(to).expect("key"),
            kind: EdgeKind::DependsOn,
            origin,
        };
        assert_eq!(
            inventory.edges,
            [
                edge("ledger-alb", "ledger-api", EdgeOrigin::CloudInventory),
                edge("settle-payments", "ledger-db", EdgeOrigin::EnvVar),
                edge("settle-payments", "settlements", EdgeOrigin::CloudInventory),
            ]
        );
    }
}
