//! The answers every route may give whatever its handler does, declared on every operation of
//! `/openapi.json` in one place, so that a new route cannot forget them: what the middleware
//! answers (401 for a missing or bad credential, 429 over a rate limit, 503 when Postgres or NATS
//! is away, 504 over the time limit), what a malformed path answers (400) and what a request
//! body is refused with (400, 413, 415). A route's own description of a code is kept.

use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

/// Every error answer: `{"error":{"code","message"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for programs (`invalid_json`, `not_found`, `rate_limited`, …).
    pub(crate) code: String,
    /// What went wrong, for people.
    pub(crate) message: String,
}

/// Which answers to declare on an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layers {
    /// The API's routes: authentication, rate limits and the time limit run before the handler.
    Api,
    /// The webhook intake, which skips that middleware (it authenticates per source).
    Webhooks,
}

/// Declares the shared answers on every operation of `doc`.
pub fn declare(doc: &mut utoipa::openapi::OpenApi, layers: Layers) {
    let components = doc.components.get_or_insert_with(Default::default);
    let mut schemas = vec![(ErrorBody::name().into_owned(), ErrorBody::schema())];
    ErrorBody::schemas(&mut schemas);
    components.schemas.extend(schemas);
    for item in doc.paths.paths.values_mut() {
        let path_params = item.parameters.as_ref().is_some_and(|p| !p.is_empty());
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            declare_on(operation, layers, path_params);
        }
    }
}

fn declare_on(operation: &mut Operation, layers: Layers, path_params: bool) {
    let mut shared: Vec<(&str, &str)> = Vec::new();
    let has_params = path_params || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = operation.request_body.is_some();
    if has_params || has_body {
        shared.push(("400", "malformed: a path or query parameter, or the JSON body (the message names the line and column or the field)"));
    }
    if has_body {
        shared.push(("413", "the body exceeds the limit"));
        shared.push(("415", "the body is not sent as application/json"));
    }
    if layers == Layers::Api {
        shared.push(("401", "no credential where one is needed, or a credential that is unknown, expired or revoked"));
        shared.push(("429", "a rate limit was hit; see Retry-After"));
        shared.push((
            "503",
            "the database, the event store or the secret store is unavailable; see Retry-After",
        ));
        shared.push(("504", "the request took longer than the time limit"));
    }
    for (status, description) in shared {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    }
    // A route's own error answers get the error body's schema too when they declare none.
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            let error = status.starts_with('4') || status.starts_with('5');
            if error && response.content.is_empty() {
                response
                    .content
                    .insert("application/json".to_owned(), error_content());
            }
        }
    }
}

fn error_content() -> RefOr<Content> {
    RefOr::T(Content::new(Some(Ref::from_schema_name(ErrorBody::name()))))
}

fn error_response(description: &str) -> Response {
    let mut response = ResponseBuilder::new().description(description).build();
    response
        .content
        .insert("application/json".to_owned(), error_content());
    response
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every operation declares what the middleware and the body extractor may answer, with the
    /// error body's schema.
    #[test]
    fn every_operation_declares_the_shared_answers() {
        let doc = serde_json::to_value(super::super::openapi()).expect("the document renders");
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() > 20);
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                let responses = &operation["responses"];
                let declared = |code: &str| responses.get(code).is_some();
                if !path.starts_with("/webhooks/") {
                    for code in ["401", "429", "503", "504"] {
                        assert!(declared(code), "{method} {path} does not declare {code}");
                    }
                }
                if operation.get("requestBody").is_some() {
                    for code in ["400", "413", "415"] {
                        assert!(declared(code), "{method} {path} does not declare {code}");
                    }
                }
                if path.contains('{') {
                    assert!(declared("400"), "{method} {path} does not declare 400");
                }
                let schema = &responses["401"]["content"]["application/json"]["schema"]["$ref"];
                if !path.starts_with("/webhooks/") {
                    assert_eq!(
                        schema,
                        &Value::from("#/components/schemas/ErrorBody"),
                        "{method} {path}"
                    );
                }
            }
        }
    }

    /// Every success with a body says what the body is (the UI generates its client from this
    /// document); 204 has none, and a 202 may have none. A body is JSON, an event stream, Markdown
    /// or (`/metrics`) plain text.
    #[test]
    fn every_success_answer_has_a_schema() {
        let doc = serde_json::to_value(super::super::openapi()).expect("the document renders");
        let paths = doc["paths"].as_object().expect("paths");
        let mut checked = 0;
        for (path, item) in paths {
            for (method, operation) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                let responses = operation["responses"].as_object().expect("responses");
                for (code, response) in responses.iter().filter(|(c, _)| c.starts_with('2')) {
                    let content = response.get("content");
                    match code.as_str() {
                        "204" => assert!(content.is_none(), "{method} {path} {code} has a body"),
                        "202" if content.is_none() => {}
                        _ => {
                            let schema = content
                                .and_then(|c| {
                                    c.get("application/json")
                                        .or_else(|| c.get("text/event-stream"))
                                        .or_else(|| c.get("text/markdown"))
                                        .or_else(|| c.get("text/plain"))
                                })
                                .and_then(|c| c.get("schema"));
                            assert!(
                                schema
                                    .is_some_and(|s| s.as_object().is_some_and(|o| !o.is_empty())),
                                "{method} {path} answers {code} without a JSON schema"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 30, "only {checked} success answers with a body");
    }

    /// Every `$ref` of the document names a schema it holds, so a client generator resolves it.
    #[test]
    fn every_schema_reference_resolves() {
        let doc = serde_json::to_value(super::super::openapi()).expect("the document renders");
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for reference in refs {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{reference} is not a schema reference"));
            assert!(schemas.contains_key(name), "{reference} does not resolve");
        }
    }

    /// A schema that says nothing of its shape: an object without properties, or any value.
    fn is_free_form(schema: &serde_json::Map<String, Value>) -> bool {
        let shaped = [
            "properties",
            "$ref",
            "oneOf",
            "allOf",
            "anyOf",
            "enum",
            "const",
            "items",
        ]
        .iter()
        .any(|key| schema.contains_key(*key))
            || schema
                .get("additionalProperties")
                .is_some_and(Value::is_object);
        let object_or_any = match schema.get("type") {
            None => true,
            Some(Value::String(t)) => t == "object",
            Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
            Some(_) => false,
        };
        !shaped && object_or_any
    }

    /// The free-form schemas of `value` that no description explains: neither their own nor
    /// that of the request body or response they are the whole content of. `explained` is
    /// handed down only along `content` → media type → `schema`.
    fn unexplained(value: &Value, path: &str, explained: bool, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                let described = map.contains_key("description");
                let is_schema = path.ends_with("/schema")
                    || path.contains("/properties/")
                    || path.ends_with("/items");
                if is_schema && is_free_form(map) && !described && !explained {
                    found.push(path.to_owned());
                }
                let in_content = path.ends_with("/content");
                for (key, child) in map {
                    let passes = match key.as_str() {
                        "content" => described,
                        "schema" => explained,
                        _ => in_content && explained,
                    };
                    unexplained(child, &format!("{path}/{key}"), passes, found);
                }
            }
            Value::Array(items) => items
                .iter()
                .for_each(|item| unexplained(item, path, false, found)),
            _ => {}
        }
    }

    /// Every schema says what it holds: a named type where the shape is known, and where it is
    /// genuinely free-form (a webhook's payload, a stored event's body, a tool's arguments) a
    /// description saying so, so a client generator is never left with a bare `object`.
    #[test]
    fn every_free_form_schema_says_so() {
        let doc = serde_json::to_value(super::super::openapi()).expect("the document renders");
        let mut found = Vec::new();
        unexplained(&doc, "", false, &mut found);
        assert!(
            found.is_empty(),
            "free-form without a description:\n{}",
            found.join("\n")
        );
        // And the shapes that are known are named, not free-form.
        let schemas = &doc["components"]["schemas"];
        for (schema, field) in [
            ("SessionDetail", "messages"),
            ("IncidentView", "comments"),
            ("IncidentView", "feedback"),
            ("UsageResponse", "by_model"),
        ] {
            assert!(
                schemas[schema]["properties"][field]["items"]["$ref"].is_string(),
                "{schema}.{field}"
            );
        }
        for (schema, field) in [
            ("SettingsAnswer", "settings"),
            ("IntegrationView", "settings"),
            ("UsageResponse", "total"),
        ] {
            assert!(
                schemas[schema]["properties"][field]["$ref"].is_string(),
                "{schema}.{field}"
            );
        }
    }

    fn collect_refs(value: &Value, refs: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.push(r.clone());
                }
                map.values().for_each(|v| collect_refs(v, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
            _ => {}
        }
    }
}
