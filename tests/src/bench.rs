//! What the benchmarks (`tests/benches/`) share: settings from the environment, percentiles,
//! the raw ceiling every figure is set beside (one acknowledged JetStream publish), the
//! machine's description, two ways of measuring memory — the process's resident set and the
//! bytes live on the heap ([`Counted`]) —, HTTP load with `wrk` ([`wrk`], [`webhook_script`]),
//! and [`write_section`], which puts a benchmark's figures in `BENCHMARKS.md`.

use std::time::{Duration, Instant};

/// `name` from the environment as a number, `default` when unset or not one.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The load average over 1, 5 and 15 minutes (`/proc/loadavg`), for the record of a run.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The `p`-th percentile (0–100) of `sorted`, by nearest rank; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The p50 and p99 of `times`.
pub fn p50_p99(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (percentile(&times, 50.0), percentile(&times, 99.0))
}

/// `d` in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Resident memory of this process, in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The raw ceiling: one acknowledged JetStream publish of `body` at a time, `n` times, on a
/// scratch stream `stream`; p50 and p99 in ms.
pub async fn acked_publish(
    js: &async_nats::jetstream::Context,
    stream: &str,
    body: bytes::Bytes,
    n: usize,
) -> (f64, f64) {
    let subject = format!("bench.raw.{}", stream.to_lowercase());
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream.into(),
        subjects: vec![subject.clone()],
        ..Default::default()
    })
    .await
    .expect("a scratch stream");
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        js.publish(subject.clone(), body.clone())
            .await
            .expect("publish")
            .await
            .expect("ack");
        times.push(ms(started.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    (percentile(&times, 50.0), percentile(&times, 99.0))
}

/// Cores, CPU, memory, nats-server and PostgreSQL versions.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| format!("{} GiB", kb / 1024 / 1024))
        .unwrap_or_default();
    let nats = aurora_nats::server::find_binary()
        .and_then(|b| std::process::Command::new(b).arg("--version").output().ok())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let pg = std::process::Command::new("psql")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem} RAM; {nats}; {pg}")
}

/// The allocator of the benchmarks that measure memory: mimalloc (the `aurora` binary's) behind
/// `cap`, which counts the bytes live on the heap (`GLOBAL.allocated()`): what a phase allocated
/// and kept, whatever pages the allocator holds. Declare it with
/// `#[global_allocator] static GLOBAL: aurora_tests::bench::Counted = aurora_tests::bench::counted();`.
pub type Counted = cap::Cap<mimalloc::MiMalloc>;

pub const fn counted() -> Counted {
    cap::Cap::new(mimalloc::MiMalloc, usize::MAX)
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct Wrk {
    /// Responses received (wrk's "N requests in …").
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
}

fn duration_ms(text: &str) -> f64 {
    let (number, unit): (String, String) =
        text.chars().partition(|c| c.is_ascii_digit() || *c == '.');
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    match unit.as_str() {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        _ => f64::NAN,
    }
}

/// Runs wrk (2 threads, 64 connections) with `script` against `url` for `secs`.
pub fn wrk(url: &str, script: &std::path::Path, secs: u64) -> Wrk {
    let out = std::process::Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{secs}s"), "--latency", "-s"])
        .arg(script)
        .arg(url)
        .output()
        .expect("wrk runs (make bench installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let p50 = field("50%").map_or(f64::NAN, |v| duration_ms(&v));
    let p99 = field("99%").map_or(f64::NAN, |v| duration_ms(&v));
    let non_2xx = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(0);
    Wrk {
        requests,
        rps,
        p50_ms: p50,
        p99_ms: p99,
        non_2xx,
    }
}

/// A wrk script `name` in `dir` posting a distinct Grafana alert per request, with `headers`.
/// Distinct across runs too: each wrk thread draws its own prefix from `/dev/urandom` (LuaJIT's
/// `math.random` starts from the same seed in every run, so a prefix from it repeated the last
/// run's bodies, which JetStream then took for retries within its duplicate window and did not
/// store).
pub fn webhook_script(
    dir: &std::path::Path,
    name: &str,
    headers: &[(&str, &str)],
) -> std::path::PathBuf {
    let headers: String = headers
        .iter()
        .map(|(k, v)| format!("wrk.headers[\"{k}\"] = \"{v}\"\n"))
        .collect();
    let lua = format!(
        r#"wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{headers}
local counter = 0
local prefix = ""
function init(args)
  local random = io.open("/dev/urandom", "rb")
  prefix = string.gsub(random:read(8), ".", function(c) return string.format("%02x", string.byte(c)) end)
  random:close()
end
function request()
  counter = counter + 1
  local id = prefix .. "-" .. counter
  local body = '{{"receiver":"aurora","status":"firing","orgId":1,"alerts":[{{"status":"firing","labels":{{"alertname":"HighLatency","service":"checkout","severity":"critical","env":"prod","instance":"pod-' .. id .. '"}},"annotations":{{"summary":"Checkout p99 latency above 2s","description":"p99 is 3.1s on pod ' .. id .. '"}},"startsAt":"2026-11-23T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"https://grafana.example.com/alerting/grafana/abc/view","fingerprint":"' .. id .. '"}}],"groupLabels":{{"alertname":"HighLatency"}},"version":"1","title":"[FIRING:1] HighLatency"}}'
  return wrk.format(nil, nil, nil, body)
end
"#
    );
    let path = dir.join(name);
    std::fs::write(&path, lua).expect("write the wrk script");
    path
}

/// Asserts that `INBOX` holds at least the `answered` webhooks (every one accepted, each a
/// distinct delivery): a body repeated within JetStream's duplicate window is acknowledged
/// without being stored, and a bench sending such repeats would measure less than the intake's
/// work.
pub async fn assert_all_stored(nats: &crate::TestNats, answered: u64) {
    let mut inbox = nats
        .jetstream()
        .get_stream("INBOX")
        .await
        .expect("the INBOX stream");
    let stored = inbox.info().await.expect("INBOX's state").state.messages;
    assert!(
        stored >= answered,
        "INBOX holds {stored} deliveries for {answered} webhooks answered: repeated bodies were deduplicated"
    );
}

/// The median of `values` (NaN when empty).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Writes `markdown` as the section `name` of `BENCHMARKS.md` (between `<!-- name:start -->` and
/// `<!-- name:end -->`), keeping the other benchmarks' sections.
pub fn write_section(name: &str, markdown: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let block = format!("{start}\n{}\n{end}", markdown.trim_end());
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(s), Some(e)) if e > s => {
            format!("{}{block}{}", &current[..s], &current[e + end.len()..])
        }
        _ if current.trim().is_empty() => format!("# Benchmarks\n\n{block}\n"),
        _ => format!("{}\n\n{block}\n", current.trim_end()),
    };
    std::fs::write(&path, updated).expect("write BENCHMARKS.md");
}
