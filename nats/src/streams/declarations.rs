//! Where each stream and consumer of a streams file is declared, so that a rule serde cannot
//! express is reported at the line it breaks. serde_yaml keeps no positions once a file is
//! parsed, so this scans the text: in block style every stream is a `- ` item of `streams`, and
//! every consumer a `- ` item indented deeper than its stream's keys. A file in flow style
//! (`streams: [{…}]`) yields no declarations; its errors then carry line 0.

/// A 1-based line and column of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Default)]
pub(super) struct StreamDeclaration {
    /// Its `name:` key, or the start of its item when that key is missing.
    pub name: Position,
    pub consumers: Vec<ConsumerDeclaration>,
}

#[derive(Debug, Default)]
pub(super) struct ConsumerDeclaration {
    /// Its `name:` key, or the start of its item when that key is missing.
    pub name: Position,
    /// Its `filter:` key, or its name when that key is missing.
    pub filter: Position,
}

/// The streams of `text`, in file order, so the i-th is `StreamsFile::streams[i]`.
pub(super) fn scan(text: &str) -> Vec<StreamDeclaration> {
    let mut streams: Vec<StreamDeclaration> = Vec::new();
    // The column of the stream items' keys, known once the first item is seen.
    let mut stream_column = None;
    // Whether the current stream / consumer item has shown its `name:` (or `filter:`) yet.
    let mut stream_named = false;
    let mut consumer_named = false;
    let mut consumer_filtered = false;
    for (index, line) in text.lines().enumerate() {
        let Some(key) = Key::parse(line) else {
            continue;
        };
        let at = Position {
            line: index + 1,
            column: key.column + 1,
        };
        if key.column == 0 {
            // A top-level key (`streams:`) ends whatever item came before.
            continue;
        }
        let column = *stream_column.get_or_insert(key.column);
        if key.column < column {
            continue;
        }
        if key.column == column {
            if key.item_start {
                streams.push(StreamDeclaration {
                    name: at,
                    consumers: Vec::new(),
                });
                stream_named = false;
            }
            if let Some(stream) = streams.last_mut() {
                if key.name == "name" && !stream_named {
                    stream.name = at;
                    stream_named = true;
                }
            }
            continue;
        }
        // Deeper than a stream's keys: a consumer's key (or, in a block scalar, text that
        // looks like one; descriptions are single lines in practice).
        let Some(stream) = streams.last_mut() else {
            continue;
        };
        if key.item_start {
            stream.consumers.push(ConsumerDeclaration {
                name: at,
                filter: at,
            });
            consumer_named = false;
            consumer_filtered = false;
        }
        if let Some(consumer) = stream.consumers.last_mut() {
            if key.name == "name" && !consumer_named {
                consumer.name = at;
                if !consumer_filtered {
                    consumer.filter = at;
                }
                consumer_named = true;
            } else if key.name == "filter" && !consumer_filtered {
                consumer.filter = at;
                consumer_filtered = true;
            }
        }
    }
    streams
}

/// A `key:` (or `- key:`) line.
struct Key<'a> {
    name: &'a str,
    /// 0-based column of the key itself.
    column: usize,
    /// Whether a `- ` before the key starts a new sequence item.
    item_start: bool,
}

impl<'a> Key<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let content = line.trim_start();
        let mut column = line.len() - content.len();
        let mut item_start = false;
        let mut rest = content;
        if let Some(after_dash) = content.strip_prefix('-') {
            let after = after_dash.trim_start();
            if after.len() == after_dash.len() {
                return None; // `-x` is a scalar, not an item
            }
            item_start = true;
            column += content.len() - after.len();
            rest = after;
        }
        let end = rest.find(':')?;
        let name = &rest[..end];
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let followed = rest[end + 1..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace);
        (valid && followed).then_some(Self {
            name,
            column,
            item_start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn streams_and_consumers_are_found_in_order_with_their_lines() {
        let text = "\
# comment: not a key
streams:
  - name: A
    subjects: [\"a.>\"]
    consumers:
      - name: c
        filter: a.x
        ack_wait: 5s
      - ack_wait: 5s
        filter: \"a.y\"
        name: d
  - subjects:
      - \"b.>\"
    name: B
";
        let streams = scan(text);
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0].name, at(3, 5));
        assert_eq!(streams[0].consumers.len(), 2);
        assert_eq!(streams[0].consumers[0].name, at(6, 9));
        assert_eq!(streams[0].consumers[0].filter, at(7, 9));
        assert_eq!(streams[0].consumers[1].name, at(11, 9));
        assert_eq!(streams[0].consumers[1].filter, at(10, 9));
        assert_eq!(streams[1].name, at(14, 5));
        assert!(streams[1].consumers.is_empty());
    }

    #[test]
    fn flow_style_yields_no_declarations() {
        assert!(scan("streams: [{name: A, subjects: [\"a.>\"], retention: limits}]\n").is_empty());
    }
}
