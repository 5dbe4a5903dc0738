//! Output capping: both streams under one shared [`OUTPUT_CAP`], decoded and redacted, a cut
//! stream losing its incomplete tail.

use crate::redact::Redactor;

/// Maximum number of output bytes kept, stdout and stderr together.
pub const OUTPUT_CAP: usize = 1024 * 1024;
// Command output is never withheld from redaction for its size alone.
const _: () = assert!(crate::redact::MAX_SCAN_BYTES >= 4 * OUTPUT_CAP);

/// When a stream is cut, its trailing partial line is dropped (so a secret or key cut
/// in half is not shown half-redacted) unless that line is longer than this.
const MAX_DROPPED_PARTIAL_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
pub(super) enum Stream {
    Stdout,
    Stderr,
}

/// Raw bytes kept from one stream, and whether any of its bytes were discarded.
#[derive(Debug, Default)]
pub(super) struct StreamBuf {
    bytes: Vec<u8>,
    cut: bool,
}

/// Both streams under one shared budget (the spec's cap, [`OUTPUT_CAP`] for the agent's tools),
/// first come first served.
#[derive(Debug)]
pub(super) struct Capture {
    cap: usize,
    stdout: StreamBuf,
    stderr: StreamBuf,
    kept: usize,
    /// Everything the child wrote, kept or not.
    pub(super) produced: u64,
}

impl Capture {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            cap,
            stdout: StreamBuf::default(),
            stderr: StreamBuf::default(),
            kept: 0,
            produced: 0,
        }
    }

    pub(super) fn push(&mut self, stream: Stream, data: &[u8]) {
        self.produced = self.produced.saturating_add(data.len() as u64);
        let take = self.cap.saturating_sub(self.kept).min(data.len());
        let buf = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        buf.bytes.extend_from_slice(&data[..take]);
        if take < data.len() {
            buf.cut = true;
        }
        self.kept += take;
    }

    /// Decoded, redacted stdout and stderr, and whether anything was cut.
    pub(super) fn finish(self, redactor: &Redactor) -> (String, String, bool) {
        let mut truncated = self.stdout.cut || self.stderr.cut;
        let cap = self.cap;
        let mut stdout = finish_stream(self.stdout, redactor, cap);
        let mut stderr = finish_stream(self.stderr, redactor, cap);
        // Redaction can lengthen the text (a 4-byte secret becomes `[REDACTED]`);
        // keep the cap a hard limit on what is returned.
        if stdout.len() + stderr.len() > cap {
            truncated = true;
            truncate_on_char_boundary(&mut stdout, cap);
            truncate_on_char_boundary(&mut stderr, cap - stdout.len());
        }
        (stdout, stderr, truncated)
    }
}

/// Decodes one stream; a cut stream first loses its incomplete tail (see [`cut_point`])
/// and any trailing fragment of a literal secret, so nothing is revealed half-redacted.
fn finish_stream(buf: StreamBuf, redactor: &Redactor, cap: usize) -> String {
    let mut bytes = buf.bytes;
    if buf.cut {
        let keep = cut_point(&bytes);
        bytes.truncate(keep);
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if buf.cut {
        redactor.strip_partial_secret_suffix(&mut text);
    }
    // Everything kept is scanned, however large the cap.
    redactor.apply_within(&text, cap.max(crate::redact::MAX_SCAN_BYTES))
}

/// Where to end a stream that was cut at the end of `bytes`: after its last newline
/// if the partial line is at most [`MAX_DROPPED_PARTIAL_LINE`] bytes, otherwise
/// before any incomplete UTF-8 sequence at the very end.
fn cut_point(bytes: &[u8]) -> usize {
    let window = bytes.len().saturating_sub(MAX_DROPPED_PARTIAL_LINE);
    match bytes[window..].iter().rposition(|&b| b == b'\n') {
        Some(pos) => window + pos + 1,
        None => bytes.len() - incomplete_utf8_tail(bytes),
    }
}

/// Number of bytes at the end of `bytes` forming the start of a UTF-8 character
/// whose remaining bytes are missing.
fn incomplete_utf8_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(4) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xC0 == 0x80 {
            continue; // continuation byte: keep looking for the lead byte
        }
        let needed = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if needed > back { back } else { 0 };
    }
    0
}

fn truncate_on_char_boundary(text: &mut String, max: usize) {
    let end = char_floor(text, max).len();
    text.truncate(end);
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn char_floor(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::exec::tests::strings;

    #[test]
    fn cut_streams_lose_their_partial_tail() {
        let redactor = Redactor::new(&strings(&["hunter2-secret"]));
        let cut = |bytes: &[u8]| {
            finish_stream(
                StreamBuf {
                    bytes: bytes.to_vec(),
                    cut: true,
                },
                &redactor,
                OUTPUT_CAP,
            )
        };
        // The incomplete last line goes (it might hold half a key).
        assert_eq!(cut(b"line 1\nAKIAIOSFOD"), "line 1\n");
        assert_eq!(cut(b"line 1\nline 2\n"), "line 1\nline 2\n");
        // Without a newline: no half character, no fragment of a literal secret.
        assert_eq!(cut("abcé".as_bytes().split_last().unwrap().1), "abc");
        assert_eq!(cut(b"password=hunter2-se"), "password=");
        // Streams that were not cut are kept whole.
        let whole = finish_stream(
            StreamBuf {
                bytes: b"line 1\npartial".to_vec(),
                cut: false,
            },
            &redactor,
            OUTPUT_CAP,
        );
        assert_eq!(whole, "line 1\npartial");
    }

    #[test]
    fn incomplete_utf8_tails() {
        assert_eq!(incomplete_utf8_tail(b"abc"), 0);
        assert_eq!(incomplete_utf8_tail("é".as_bytes()), 0);
        assert_eq!(incomplete_utf8_tail(&"€".as_bytes()[..2]), 2);
        assert_eq!(incomplete_utf8_tail(&"😀".as_bytes()[..3]), 3);
        assert_eq!(incomplete_utf8_tail(&"😀".as_bytes()[..1]), 1);
        assert_eq!(incomplete_utf8_tail(b""), 0);
    }

    #[test]
    fn capture_keeps_at_most_the_cap_across_streams() {
        let mut capture = Capture::new(OUTPUT_CAP);
        capture.push(Stream::Stderr, &vec![b'e'; OUTPUT_CAP - 10]);
        capture.push(Stream::Stdout, &[b'o'; 25]);
        capture.push(Stream::Stderr, &[b'e'; 5]);
        assert_eq!(capture.kept, OUTPUT_CAP);
        assert_eq!(capture.produced, (OUTPUT_CAP + 20) as u64);
        assert_eq!(capture.stdout.bytes, vec![b'o'; 10]);
        assert_eq!(capture.stderr.bytes.len(), OUTPUT_CAP - 10);
        assert!(capture.stdout.cut && capture.stderr.cut);
    }

    #[test]
    fn redaction_growth_still_respects_the_cap() {
        let secret = "abcd".to_owned();
        let redactor = Redactor::new(std::slice::from_ref(&secret));
        let capture = Capture {
            cap: OUTPUT_CAP,
            stdout: StreamBuf {
                bytes: secret.repeat(OUTPUT_CAP / 4).into_bytes(),
                cut: false,
            },
            stderr: StreamBuf::default(),
            kept: OUTPUT_CAP,
            produced: OUTPUT_CAP as u64,
        };
        let (stdout, stderr, truncated) = capture.finish(&redactor);
        assert!(truncated);
        assert!(stdout.len() + stderr.len() <= OUTPUT_CAP);
        assert!(stdout.starts_with("[REDACTED][REDACTED]"));
    }
}
