//! Requests as a given account, and the items of a list answer.

use aurora_tests::{Account, TestApp};
use reqwest::Method;
use serde_json::Value;

pub(crate) async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    who: &Account,
    body: Option<Value>,
) -> aurora_tests::Answer {
    let request = app.request(method, path, Some(who));
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    aurora_tests::Answer::of(request.send().await).await
}

pub(crate) fn items(body: &Value) -> &Vec<Value> {
    body["items"].as_array().expect("a list of items")
}
