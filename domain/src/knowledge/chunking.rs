//! Cutting a document's text into chunks for search (SPEC §9): sections at Markdown headings,
//! each section in pieces of about [`CHUNK_CHARS`] characters that overlap by
//! [`OVERLAP_CHARS`], cut at a paragraph, line or word boundary where one is near.

/// The length a chunk aims at, in characters.
pub const CHUNK_CHARS: usize = 1500;
/// How much of the end of a chunk the next one repeats, in characters.
pub const OVERLAP_CHARS: usize = 200;

/// A piece of a document, under the heading it sits below (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub heading: Option<String>,
    pub text: String,
}

/// The chunks of `text`, in order. Headings are lines starting with `#`s and a blank (ATX
/// Markdown); text before the first one has no heading. Empty sections give no chunk.
pub fn chunk(text: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    for (heading, body) in sections(text) {
        for piece in pieces(&body) {
            chunks.push(Chunk {
                heading: heading.clone(),
                text: piece,
            });
        }
    }
    chunks
}

/// The text split at headings: (the heading's words, the lines below it).
fn sections(text: &str) -> Vec<(Option<String>, String)> {
    let mut sections = Vec::new();
    let (mut heading, mut body) = (None, String::new());
    for line in text.lines() {
        if let Some(title) = heading_of(line) {
            sections.push((heading.take(), std::mem::take(&mut body)));
            heading = Some(title);
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    sections.push((heading, body));
    sections
        .into_iter()
        .filter(|(_, body)| !body.trim().is_empty())
        .collect()
}

/// `## Restart the pod` → `Restart the pod`; `None` for a line that is not a heading.
fn heading_of(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &trimmed[hashes..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let title = rest.trim().trim_end_matches('#').trim();
    (!title.is_empty()).then(|| title.to_owned())
}

/// `body` in overlapping pieces of at most [`CHUNK_CHARS`] characters (trimmed).
fn pieces(body: &str) -> Vec<String> {
    let chars: Vec<char> = body.chars().collect();
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let hard_end = (start + CHUNK_CHARS).min(chars.len());
        let end = if hard_end == chars.len() {
            hard_end
        } else {
            boundary(&chars, start + CHUNK_CHARS / 2, hard_end)
        };
        let piece: String = chars[start..end].iter().collect();
        let piece = piece.trim();
        if !piece.is_empty() {
            pieces.push(piece.to_owned());
        }
        if end == chars.len() {
            break;
        }
        // The next piece starts OVERLAP_CHARS back, at a word start, and always moves forward.
        let back = end.saturating_sub(OVERLAP_CHARS).max(start + 1);
        start = (back..end)
            .find(|&i| i > 0 && chars[i - 1].is_whitespace() && !chars[i].is_whitespace())
            .unwrap_or(back);
    }
    pieces
}

/// The best place to end a piece in `from..=to`: after a blank line, else a line end, else a
/// blank, else `to` itself.
fn boundary(chars: &[char], from: usize, to: usize) -> usize {
    let after = |test: &dyn Fn(usize) -> bool| (from..to).rev().find(|&i| test(i)).map(|i| i + 1);
    after(&|i| chars[i] == '\n' && i > 0 && chars[i - 1] == '\n')
        .or_else(|| after(&|i| chars[i] == '\n'))
        .or_else(|| after(&|i| chars[i].is_whitespace()))
        .unwrap_or(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_split_sections_and_text_before_them_has_none() {
        let text =
            "intro line\n# Restart\nkubectl rollout restart\n## Check ##\nlogs\n#hashtag is text\n";
        let chunks = chunk(text);
        assert_eq!(
            chunks,
            vec![
                Chunk {
                    heading: None,
                    text: "intro line".into()
                },
                Chunk {
                    heading: Some("Restart".into()),
                    text: "kubectl rollout restart".into()
                },
                Chunk {
                    heading: Some("Check".into()),
                    text: "logs\n#hashtag is text".into()
                },
            ]
        );
    }

    #[test]
    fn a_long_section_is_cut_near_1500_characters_with_200_overlapping() {
        let paragraph = "word ".repeat(100); // 500 characters
        let text = format!("# Long\n{}", [paragraph.as_str(); 8].join("\n\n"));
        let chunks = chunk(&text);
        assert!(chunks.len() >= 3, "{}", chunks.len());
        for c in &chunks {
            assert!(c.text.chars().count() <= CHUNK_CHARS, "{}", c.text.len());
            assert_eq!(c.heading.as_deref(), Some("Long"));
        }
        // Each chunk begins with the last ~200 characters of the one before.
        for pair in chunks.windows(2) {
            let head: String = pair[1].text.chars().take(50).collect();
            assert!(pair[0].text.contains(head.trim()), "overlap missing");
        }
        let total: usize = chunks.iter().map(|c| c.text.chars().count()).sum();
        assert!(total > 4000 && total < 4000 + chunks.len() * (OVERLAP_CHARS + 10));
    }

    #[test]
    fn text_without_blanks_is_cut_hard_and_still_ends() {
        let text = "x".repeat(4000);
        let chunks = chunk(&text);
        assert_eq!(chunks[0].text.chars().count(), CHUNK_CHARS);
        assert!(chunks.last().is_some_and(|c| c.text.ends_with('x')));
        assert!(chunks.len() <= 4);
    }

    #[test]
    fn empty_and_blank_texts_give_no_chunks() {
        assert!(chunk("").is_empty());
        assert!(chunk("\n\n# Only a heading\n\n").is_empty());
    }

    #[test]
    fn multibyte_text_is_cut_on_characters() {
        let text = "é".repeat(3000);
        let chunks = chunk(&text);
        assert!(chunks.iter().all(|c| c.text.chars().count() <= CHUNK_CHARS));
    }
}
