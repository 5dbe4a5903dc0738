//! The text of an uploaded file: Markdown and text as they are (UTF-8), PDF through `lopdf`.

use aurora_domain::knowledge::DocumentKind;

/// Why a file's text could not be read (the document fails with this as its reason).
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("the file is not UTF-8 text")]
    NotUtf8(#[source] std::string::FromUtf8Error),
    #[error("the file is not a readable PDF")]
    Pdf(#[source] lopdf::Error),
    #[error("the file holds no text")]
    Empty,
}

/// The text of `bytes`, a file of `kind`.
pub fn text_of(kind: DocumentKind, bytes: Vec<u8>) -> Result<String, ExtractError> {
    let text = match kind {
        DocumentKind::Markdown | DocumentKind::Text => {
            let text = String::from_utf8(bytes).map_err(ExtractError::NotUtf8)?;
            text.strip_prefix('\u{feff}')
                .map(str::to_owned)
                .unwrap_or(text)
        }
        DocumentKind::Pdf => {
            let document = lopdf::Document::load_mem(&bytes).map_err(ExtractError::Pdf)?;
            let pages: Vec<u32> = document.get_pages().keys().copied().collect();
            document.extract_text(&pages).map_err(ExtractError::Pdf)?
        }
    };
    if text.trim().is_empty() {
        return Err(ExtractError::Empty);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_read_as_utf8_without_its_byte_order_mark() {
        let text = text_of(DocumentKind::Markdown, "\u{feff}# Title\nbody".into()).expect("text");
        assert_eq!(text, "# Title\nbody");
    }

    #[test]
    fn bad_files_are_refused_by_name() {
        assert!(matches!(
            text_of(DocumentKind::Text, vec![0xff, 0xfe, 0x00]),
            Err(ExtractError::NotUtf8(_))
        ));
        assert!(matches!(
            text_of(DocumentKind::Pdf, b"not a pdf".to_vec()),
            Err(ExtractError::Pdf(_))
        ));
        assert!(matches!(
            text_of(DocumentKind::Markdown, b"  \n".to_vec()),
            Err(ExtractError::Empty)
        ));
    }
}
