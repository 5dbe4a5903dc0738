//! Chat test helpers: a real WebSocket client of `/ws/chat`, and fake cloud CLIs — executables
//! on a private `PATH` that print recorded JSON and log how they were called.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::{Account, TestApp};

/// How long a test waits for one frame.
pub const FRAME_WAIT: Duration = Duration::from_secs(15);

pub struct ChatSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every frame received, in order.
    pub received: Vec<Value>,
}

impl ChatSocket {
    /// Gets a ticket as `account` and opens the socket on `app` (watching `session`, if given).
    pub async fn open(app: &TestApp, account: &Account, session: Option<Uuid>) -> Self {
        Self::open_at(app, &app.base_url, account, session).await
    }

    /// The same against the gateway at `base_url` (the ticket still comes from `app`).
    pub async fn open_at(
        app: &TestApp,
        base_url: &str,
        account: &Account,
        session: Option<Uuid>,
    ) -> Self {
        let ticket = app
            .get_json("/api/ws-token", Some(account))
            .await
            .expect_status(200);
        let token = ticket["token"].as_str().expect("a token").to_owned();
        let mut url = format!(
            "{}/ws/chat?token={token}",
            base_url.replacen("http://", "ws://", 1)
        );
        if let Some(session) = session {
            url.push_str(&format!("&session_id={session}"));
        }
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .expect("the WebSocket opens");
        Self {
            ws,
            received: Vec::new(),
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("the frame is sent");
    }

    /// The next JSON frame (pings are answered by the client and skipped).
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(FRAME_WAIT, self.ws.next())
                .await
                .expect("a frame within the wait")
                .expect("the socket is open")
                .expect("a readable frame");
            match message {
                Message::Text(text) => {
                    let frame: Value = serde_json::from_str(&text).expect("a JSON frame");
                    self.received.push(frame.clone());
                    return frame;
                }
                Message::Close(close) => panic!("the server closed the socket: {close:?}"),
                _ => continue,
            }
        }
    }

    /// Frames up to and including the first that `done` accepts.
    pub async fn until(&mut self, done: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut frames = Vec::new();
        loop {
            let frame = self.next().await;
            let stop = done(&frame);
            frames.push(frame);
            if stop {
                return frames;
            }
        }
    }

    /// Frames up to and including the `status: END` of a run.
    pub async fn until_end(&mut self) -> Vec<Value> {
        self.until(|f| f["type"] == "status" && f["status"] == "END")
            .await
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Frames of `kind` among `frames`.
pub fn of_type<'a>(frames: &'a [Value], kind: &str) -> Vec<&'a Value> {
    frames.iter().filter(|f| f["type"] == kind).collect()
}

/// The text streamed in `message` chunks.
pub fn streamed_text(frames: &[Value]) -> String {
    frames
        .iter()
        .filter(|f| f["type"] == "message" && f["is_chunk"] == true)
        .filter_map(|f| f["text"].as_str())
        .collect()
}

/// Fake CLIs in a private directory: each prints its recorded output and appends
/// `<name> <args…>` to `calls.log`.
pub struct FakeClis {
    pub dir: tempfile::TempDir,
}

impl FakeClis {
    /// Installs `(name, stdout)` pairs.
    pub fn install(clis: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir for fake CLIs");
        let log = dir.path().join("calls.log");
        for (name, output) in clis {
            let path = dir.path().join(name);
            let script = format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\ncat <<'AURORA_RECORDED'\n{output}\nAURORA_RECORDED\n",
                log.display()
            );
            std::fs::write(&path, script).expect("write a fake CLI");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .expect("make it executable");
        }
        Self { dir }
    }

    /// Installs `name` as a script with this body (after `#!/bin/sh` and the call log line).
    pub fn script(&self, name: &str, body: &str) {
        let path = self.dir.path().join(name);
        let script = format!(
            "#!/bin/sh\necho \"{name} $*\" >> '{}'\n{body}\n",
            self.log().display()
        );
        std::fs::write(&path, script).expect("write a fake CLI");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make it executable");
    }

    /// Installs a fake `az` that, like the real one, must be logged in first: `az login
    /// --service-principal … --password @file` succeeds only if the file holds `secret` (and
    /// records the login it got in `$AZURE_CONFIG_DIR/login`), `az account set` records the
    /// subscription, and any other command is refused unless logged in; then `body` runs.
    pub fn az(&self, secret: &str, body: &str) {
        let guard = format!(
            r#"case "$1" in
  login)
    password=$(printf '%s\n' "$@" | sed -n '/^--password$/{{n;p}}')
    case "$password" in @*) ;; *) echo "the secret was on the command line" >&2; exit 4 ;; esac
    [ "$(cat "${{password#@}}")" = '{secret}' ] || {{ echo "AADSTS7000215: Invalid client secret provided." >&2; exit 1; }}
    echo "$*" > "$AZURE_CONFIG_DIR/login"
    exit 0 ;;
esac
[ -f "$AZURE_CONFIG_DIR/login" ] || {{ echo "ERROR: Please run 'az login' to setup account." >&2; exit 1; }}
if [ "$1 $2" = "account set" ]; then echo "$*" > "$AZURE_CONFIG_DIR/subscription"; exit 0; fi
"#
        );
        self.script("az", &format!("{guard}{body}"));
    }

    /// The `PATH` tools should run with: these fakes first, then the system's basics.
    pub fn path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.dir.path().display())
    }

    /// Waits until `count` calls were logged — the fake CLIs log a call as they start, so the
    /// last of them is running — and panics after 10 s.
    pub async fn until_called(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.calls().len() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{count} CLI calls expected within 10 s, got {:?}",
                self.calls()
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Every call so far, as `<name> <args…>`.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }
}
