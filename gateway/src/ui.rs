//! The web UI: the single-page app built from `ui/` (TypeScript, by `make ui`) and embedded in the
//! binary, so nothing but the `aurora` binary runs in production (`build.rs` says where the
//! bundle is, or embeds a page saying it was not built).
//!
//! Served as the router's fallback: a file of the bundle by its path; any other page path (a
//! deep link such as `/incidents/…`) gets `index.html` and the app routes it in the browser;
//! `/api/…`, `/ws/…`, a missing asset and anything but GET or HEAD keep the API's JSON 404.
//! Files under `assets/` have content hashes in their names and are cached for a year;
//! `index.html` is revalidated on every load so a new release is picked up at once.

use axum::http::{header, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use include_dir::{include_dir, Dir, File};

// From the file that defines it, not through `api`'s re-export: the router in `api` mounts this
// fallback, so the UI imports only the error below it.
use crate::api::error::no_route;

static BUNDLE: Dir<'static> = include_dir!("$AURORA_UI_DIR");

/// Answers what no route of the API answered.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let api = ["/api/", "/ws/", "/webhooks/", "/chat_api/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
        || path == "/api";
    if api || !(method == Method::GET || method == Method::HEAD) {
        return no_route(path).into_response();
    }
    let relative = path.trim_start_matches('/');
    if let Some(file) = BUNDLE.get_file(relative).filter(|_| !relative.is_empty()) {
        return respond(file);
    }
    // A path whose last segment names a file is a missing asset, not a page of the app.
    let names_a_file = relative.rsplit('/').next().is_some_and(|s| s.contains('.'));
    match BUNDLE.get_file("index.html") {
        Some(index) if !names_a_file => respond(index),
        _ => no_route(path).into_response(),
    }
}

fn respond(file: &'static File<'static>) -> Response {
    let path = file.path().to_string_lossy();
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(media_type(&path)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        file.contents(),
    )
        .into_response()
}

/// The media type of a file of the bundle, by its extension (the bundler emits only these).
fn media_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_follow_the_extension() {
        assert_eq!(
            media_type("assets/index-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(media_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(media_type("assets/x.css"), "text/css; charset=utf-8");
        assert_eq!(media_type("blob"), "application/octet-stream");
    }

    #[test]
    fn the_bundle_has_an_index_page() {
        assert!(BUNDLE.get_file("index.html").is_some());
    }
}
