//! Given/when/then tests of every connector rule.

use chrono::{TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::scenario::given;

fn at(minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 10, minute, 0)
        .single()
        .expect("a valid time")
}

fn admin() -> Uuid {
    Uuid::from_u128(7)
}

fn id() -> Uuid {
    Uuid::from_u128(1)
}

fn gcp() -> ConnectorSettings {
    ConnectorSettings::Gcp {
        project_id: "shop-prod".into(),
        client_email: "aurora@shop-prod.iam.gserviceaccount.com".into(),
        auth: GcpAuth::ServiceAccountKey,
    }
}

fn connect(settings: ConnectorSettings, projects: &[&str]) -> ConnectorCommand {
    ConnectorCommand::Connect {
        id: id(),
        settings,
        secret_ref: Some("local:acme/connectors/1@1".into()),
        projects: projects.iter().map(|p| (*p).to_owned()).collect(),
        by: admin(),
        at: at(0),
    }
}

fn connected(settings: ConnectorSettings, projects: &[&str]) -> ConnectorEvent {
    ConnectorEvent::Connected {
        id: id(),
        kind: settings.kind(),
        settings,
        secret_ref: Some("local:acme/connectors/1@1".into()),
        projects: projects.iter().map(|p| (*p).to_owned()).collect(),
        by: admin(),
        at: at(0),
    }
}

fn gcp_connected() -> ConnectorEvent {
    connected(gcp(), &["shop-prod", "shop-staging"])
}

#[test]
fn an_account_is_connected_with_its_settings_and_a_secret_reference() {
    let datadog = ConnectorSettings::Datadog {
        site: DatadogSite::Eu,
    };
    let state = given::<Connector>([])
        .when(connect(datadog.clone(), &[]))
        .then(vec![connected(datadog, &[])]);
    assert_eq!(state.kind, Some(ConnectorKind::Datadog));
    assert_eq!(
        state.secret_ref.as_deref(),
        Some("local:acme/connectors/1@1")
    );
    assert!(state.last_check.is_some_and(|c| c.ok));
}

#[test]
fn connecting_twice_or_after_disconnecting_is_refused() {
    given::<Connector>([gcp_connected()])
        .when(connect(gcp(), &[]))
        .then_error(ConnectorError::AlreadyConnected);
    given::<Connector>([
        gcp_connected(),
        ConnectorEvent::Disconnected {
            by: admin(),
            at: at(1),
        },
    ])
    .when(ConnectorCommand::Disconnect {
        by: admin(),
        at: at(2),
    })
    .then_error(ConnectorError::Disconnected);
}

#[test]
fn a_command_before_connecting_is_refused() {
    given::<Connector>([])
        .when(ConnectorCommand::Disconnect {
            by: admin(),
            at: at(1),
        })
        .then_error(ConnectorError::NotConnected);
}

#[test]
fn an_empty_secret_reference_is_refused() {
    let mut command = connect(gcp(), &[]);
    if let ConnectorCommand::Connect { secret_ref, .. } = &mut command {
        *secret_ref = Some(" ".into());
    }
    given::<Connector>([])
        .when(command)
        .then_error(ConnectorError::EmptySecretRef);
}

#[test]
fn datadog_sites_and_new_relic_regions_are_a_closed_list() {
    assert_eq!("us5".parse::<DatadogSite>(), Ok(DatadogSite::Us5));
    assert_eq!(DatadogSite::Eu.api_host(), "api.datadoghq.eu");
    let error = "US9".parse::<DatadogSite>().expect_err("no such site");
    assert_eq!(
        error.to_string(),
        "\"US9\" is not a Datadog site; expected one of US1, US3, US5, EU"
    );
    assert_eq!("eu".parse::<NewRelicRegion>(), Ok(NewRelicRegion::Eu));
    assert!("APAC".parse::<NewRelicRegion>().is_err());
    assert_eq!("ca".parse::<OvhRegion>(), Ok(OvhRegion::Ca));
    let read: ConnectorSettings =
        serde_json::from_str(r#"{"kind":"datadog","site":"us3"}"#).expect("a site");
    assert_eq!(
        read,
        ConnectorSettings::Datadog {
            site: DatadogSite::Us3
        }
    );
    assert!(
        serde_json::from_str::<ConnectorSettings>(r#"{"kind":"datadog","site":"mars"}"#).is_err()
    );
}

fn refused(settings: ConnectorSettings, field: &str) {
    match given::<Connector>([])
        .when(connect(settings, &[]))
        .then_error_of()
    {
        ConnectorError::InvalidSetting { field: f, .. } => assert_eq!(f, field),
        other => panic!("expected {field} refused, got {other:?}"),
    }
}

#[test]
fn an_aws_role_needs_an_arn_an_external_id_and_a_region() {
    let aws = |arn: &str, ext: &str, region: &str| ConnectorSettings::Aws {
        role_arn: arn.into(),
        external_id: ext.into(),
        region: region.into(),
    };
    let good = aws(
        "arn:aws:iam::123456789012:role/aurora/ReadOnly",
        "aurora-acme-42",
        "eu-west-3",
    );
    assert_eq!(good.validate(), Ok(()));
    refused(
        aws("arn:aws:iam::1234:role/x", "aurora-1", "us-east-1"),
        "role_arn",
    );
    refused(
        aws("arn:aws:s3:::bucket", "aurora-1", "us-east-1"),
        "role_arn",
    );
    refused(
        aws(
            "arn:aws:iam::123456789012:user/bob",
            "aurora-1",
            "us-east-1",
        ),
        "role_arn",
    );
    refused(
        aws("arn:aws:iam::123456789012:role/x", "a", "us-east-1"),
        "external_id",
    );
    refused(
        aws("arn:aws:iam::123456789012:role/x", "has space", "us-east-1"),
        "external_id",
    );
    refused(
        aws("arn:aws:iam::123456789012:role/x", "aurora-1", "Mars"),
        "region",
    );
}

#[test]
fn urls_must_be_absolute_http_urls() {
    assert_eq!(
        ConnectorSettings::Splunk {
            url: "https://splunk.acme.io:8089".into()
        }
        .validate(),
        Ok(())
    );
    refused(
        ConnectorSettings::Grafana {
            url: "grafana".into(),
        },
        "url",
    );
    refused(
        ConnectorSettings::Elasticsearch {
            url: "ftp://es.acme.io".into(),
        },
        "url",
    );
    refused(
        ConnectorSettings::Kubernetes {
            context: "prod".into(),
            cluster: "prod".into(),
            server: "not a url".into(),
        },
        "server",
    );
}

#[test]
fn other_kinds_check_their_identifiers() {
    refused(
        ConnectorSettings::Azure {
            tenant_id: "acme".into(),
            client_id: Uuid::from_u128(2).to_string(),
            subscription_id: None,
        },
        "tenant_id",
    );
    refused(
        ConnectorSettings::Scaleway {
            access_key: "AKIA1234".into(),
            project_id: Uuid::from_u128(2).to_string(),
            region: "fr-par".into(),
        },
        "access_key",
    );
    refused(
        ConnectorSettings::Sentry {
            organization: "Acme Inc".into(),
        },
        "organization",
    );
    refused(
        ConnectorSettings::Newrelic {
            account_id: 0,
            region: NewRelicRegion::Us,
        },
        "account_id",
    );
    refused(
        ConnectorSettings::Tailscale {
            tailnet: "a b".into(),
        },
        "tailnet",
    );
}

#[test]
fn projects_belong_to_gcp_connectors_only() {
    given::<Connector>([])
        .when(connect(
            ConnectorSettings::Tailscale {
                tailnet: "acme.com".into(),
            },
            &["shop-prod"],
        ))
        .then_error(ConnectorError::NotGcp);
    given::<Connector>([])
        .when(connect(gcp(), &["Not_A_Project"]))
        .then_error(ConnectorError::InvalidProject("Not_A_Project".into()));
}

#[test]
fn a_gcp_command_runs_in_the_asked_then_root_then_key_project() {
    let state = given::<Connector>([gcp_connected()]).state();
    assert_eq!(state.project_for(None), Ok("shop-prod".into()));
    assert_eq!(
        state.project_for(Some("shop-staging")),
        Ok("shop-staging".into())
    );
    let state = given::<Connector>([gcp_connected()])
        .when(ConnectorCommand::SetRootProject {
            project: "shop-staging".into(),
            by: admin(),
            at: at(1),
        })
        .then(vec![ConnectorEvent::RootProjectSet {
            project: "shop-staging".into(),
            by: admin(),
            at: at(1),
        }]);
    assert_eq!(state.project_for(None), Ok("shop-staging".into()));
}

#[test]
fn a_disabled_project_is_refused_and_loses_the_root() {
    let root = ConnectorEvent::RootProjectSet {
        project: "shop-staging".into(),
        by: admin(),
        at: at(1),
    };
    let disable = ConnectorCommand::DisableProject {
        project: "shop-staging".into(),
        by: admin(),
        at: at(2),
    };
    let state = given::<Connector>([gcp_connected(), root])
        .when(disable.clone())
        .then(vec![ConnectorEvent::ProjectDisabled {
            project: "shop-staging".into(),
            by: admin(),
            at: at(2),
        }]);
    assert_eq!(
        state.project_for(Some("shop-staging")),
        Err(ConnectorError::ProjectDisabled("shop-staging".into()))
    );
    assert_eq!(state.project_for(None), Ok("shop-prod".into()));
    let disabled = ConnectorEvent::ProjectDisabled {
        project: "shop-staging".into(),
        by: admin(),
        at: at(2),
    };
    given::<Connector>([gcp_connected(), disabled.clone()])
        .when(disable)
        .then_nothing();
    given::<Connector>([gcp_connected(), disabled.clone()])
        .when(ConnectorCommand::SetRootProject {
            project: "shop-staging".into(),
            by: admin(),
            at: at(3),
        })
        .then_error(ConnectorError::ProjectDisabled("shop-staging".into()));
    given::<Connector>([gcp_connected(), disabled])
        .when(ConnectorCommand::EnableProject {
            project: "shop-staging".into(),
            by: admin(),
            at: at(3),
        })
        .then(vec![ConnectorEvent::ProjectEnabled {
            project: "shop-staging".into(),
            by: admin(),
            at: at(3),
        }]);
}

#[test]
fn only_the_keys_projects_can_be_chosen() {
    given::<Connector>([gcp_connected()])
        .when(ConnectorCommand::DisableProject {
            project: "someone-else".into(),
            by: admin(),
            at: at(1),
        })
        .then_error(ConnectorError::UnknownProject("someone-else".into()));
    given::<Connector>([connected(
        ConnectorSettings::Datadog {
            site: DatadogSite::Us1,
        },
        &[],
    )])
    .when(ConnectorCommand::SetRootProject {
        project: "shop-prod".into(),
        by: admin(),
        at: at(1),
    })
    .then_error(ConnectorError::NotGcp);
}

#[test]
fn a_check_is_recorded_and_a_disconnect_is_final() {
    let state = given::<Connector>([gcp_connected()])
        .when(ConnectorCommand::RecordCheck {
            ok: false,
            detail: Some("Google answered 401".into()),
            at: at(4),
        })
        .then(vec![ConnectorEvent::Checked {
            ok: false,
            detail: Some("Google answered 401".into()),
            at: at(4),
        }]);
    assert!(state.last_check.is_some_and(|c| !c.ok));
    let state = given::<Connector>([gcp_connected()])
        .when(ConnectorCommand::Disconnect {
            by: admin(),
            at: at(5),
        })
        .then(vec![ConnectorEvent::Disconnected {
            by: admin(),
            at: at(5),
        }]);
    assert!(state.disconnected);
}

#[test]
fn gcp_settings_say_how_the_account_is_held_and_older_ones_read_as_a_key() {
    let older = serde_json::json!({
        "kind": "gcp", "project_id": "shop-prod",
        "client_email": "aurora@shop-prod.iam.gserviceaccount.com",
    });
    let read: ConnectorSettings = serde_json::from_value(older.clone()).expect("older settings");
    assert_eq!(read, gcp());
    // A key's settings are written as before; an OAuth account's name how it is held.
    assert_eq!(serde_json::to_value(gcp()).expect("json"), older);
    let oauth = ConnectorSettings::Gcp {
        project_id: "shop-prod".into(),
        client_email: "ana@acme.io".into(),
        auth: GcpAuth::Oauth,
    };
    assert_eq!(serde_json::to_value(&oauth).expect("json")["auth"], "oauth");
    assert_eq!(oauth.validate(), Ok(()));
}

#[test]
fn an_account_is_named_by_who_or_what_it_is_at_the_provider() {
    assert_eq!(
        gcp().account_name(),
        "aurora@shop-prod.iam.gserviceaccount.com"
    );
    let cluster = ConnectorSettings::Kubernetes {
        context: "prod".into(),
        cluster: "prod-cluster".into(),
        server: "https://prod.k8s.example:6443".into(),
    };
    assert_eq!(cluster.account_name(), "prod-cluster");
    let aws = ConnectorSettings::Aws {
        role_arn: "arn:aws:iam::123456789012:role/AuroraReadOnly".into(),
        external_id: "x-42".into(),
        region: "eu-west-3".into(),
    };
    assert_eq!(
        aws.account_name(),
        "arn:aws:iam::123456789012:role/AuroraReadOnly"
    );
}
