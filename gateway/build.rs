//! Finds the web UI's bundle (`ui/dist`, built by `make ui`) for `src/ui.rs` to embed. Without
//! it the build still succeeds, so the Rust side builds and tests on its own, but says so loudly,
//! and the binary serves a page telling how to build the UI instead of the UI.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dist = manifest.join("ui").join("dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let served = if dist.join("index.html").is_file() {
        dist
    } else {
        println!(
            "cargo:warning=the web UI is not built ({} is missing): run `make ui` (or `make build`); this binary serves a page saying so instead",
            dist.join("index.html").display()
        );
        missing_page()
    };
    println!("cargo:rustc-env=AURORA_UI_DIR={}", served.display());
}

/// A directory with one page explaining that the UI was not built.
fn missing_page() -> PathBuf {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("ui-missing");
    std::fs::create_dir_all(&out).expect("OUT_DIR is writable");
    write(
        &out.join("index.html"),
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Aurora</title>\
         <main><h1>Aurora's web UI was not built</h1><p>This binary was compiled without \
         <code>gateway/ui/dist</code>. Run <code>make ui</code> (Node 20 and npm), then build \
         again. The API works: see <a href=\"/openapi.json\">/openapi.json</a>.</p></main></html>\n",
    );
    out
}

fn write(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).expect("OUT_DIR is writable");
    }
}
