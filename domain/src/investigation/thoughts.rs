//! Streamed reasoning cut into thoughts: one per sentence, a sentence shorter than
//! [`THOUGHT_MIN_CHARS`](super::THOUGHT_MIN_CHARS) joined to the next, so the timeline reads as
//! sentences rather than tokens.

use super::THOUGHT_MIN_CHARS;

/// Text streamed so far that is not yet a thought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThoughtBuffer {
    pending: String,
}

impl ThoughtBuffer {
    /// Adds a chunk; returns the thoughts it completed.
    pub fn push(&mut self, chunk: &str) -> Vec<String> {
        self.pending.push_str(chunk);
        let mut thoughts = Vec::new();
        let mut start = 0;
        let mut chars = self.pending.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let ends = matches!(c, '.' | '!' | '?' | '\n')
                && chars.peek().is_some_and(|(_, next)| next.is_whitespace());
            if !ends {
                continue;
            }
            let end = i + c.len_utf8();
            let sentence = self.pending[start..end].trim();
            if sentence.chars().count() >= THOUGHT_MIN_CHARS {
                thoughts.push(sentence.to_owned());
                start = end;
            }
        }
        self.pending.drain(..start);
        thoughts
    }

    /// What is left when the stream ends, as a last thought (if it is any text at all).
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        let rest = rest.trim();
        (!rest.is_empty()).then(|| rest.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_become_thoughts_as_they_complete() {
        let mut buffer = ThoughtBuffer::default();
        assert!(buffer.push("The pods of checkout").is_empty());
        assert_eq!(
            buffer.push(" restart every minute. Next I read"),
            vec!["The pods of checkout restart every minute."]
        );
        assert_eq!(
            buffer.push(" their logs.\nOk. Then the deploy at 11:58 looks suspicious! "),
            vec![
                "Next I read their logs.",
                "Ok. Then the deploy at 11:58 looks suspicious!"
            ]
        );
        assert_eq!(buffer.finish(), None);
    }

    #[test]
    fn a_number_is_not_a_sentence_end_and_the_rest_is_kept() {
        let mut buffer = ThoughtBuffer::default();
        assert!(buffer.push("Version 1.2.3 went out at 11:58").is_empty());
        assert_eq!(
            buffer.finish(),
            Some("Version 1.2.3 went out at 11:58".to_owned())
        );
    }
}
