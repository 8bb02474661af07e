//! Byte offsets ↔ LSP positions. LSP counts columns in UTF-16 code units (its default
//! position encoding); dspec's spans are byte offsets into the text.

use lsp_types::{Position, Range};

/// The line starts of one text.
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        Lines {
            starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        }
    }

    /// The position of a byte offset (clamped to the text, moved back to a character start).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        Position {
            line: line as u32,
            character: text[start..offset].encode_utf16().count() as u32,
        }
    }

    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range {
            start: self.position(text, start),
            end: self.position(text, end.max(start)),
        }
    }

    /// The byte offset of a position; a column past the end of its line is the line's end.
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return text.len();
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(text.len(), |&e| e - 1);
        let mut units = 0u32;
        for (i, c) in text[start..end].char_indices() {
            if units >= pos.character {
                return start + i;
            }
            units += c.len_utf16() as u32;
        }
        end
    }

    /// The whole text.
    pub fn all(&self, text: &str) -> Range {
        self.range(text, 0, text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_utf16_code_units() {
        let text = "a\n\"café 😀\" x\n";
        let lines = Lines::new(text);
        let x = text.find('x').unwrap();
        // `"café 😀" `: 1 + 4 + 1 + 2 (a surrogate pair) + 1 + 1 = 10 UTF-16 units.
        assert_eq!(lines.position(text, x), Position::new(1, 10));
        assert_eq!(lines.offset(text, Position::new(1, 10)), x);
        assert_eq!(lines.offset(text, Position::new(0, 99)), 1);
        assert_eq!(lines.offset(text, Position::new(9, 0)), text.len());
    }
}
