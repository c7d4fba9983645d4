//! Source positions: byte offset plus 1-based line and column, carried from the lexer on.

use serde::{Deserialize, Serialize};

/// A position in the source text.
///
/// `offset` is a byte offset; `line` and `column` are 1-based, and `column` counts
/// characters (Unicode scalar values), not bytes, so a caret lines up under the source.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Pos {
    /// Byte offset from the start of the source.
    pub offset: usize,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl Pos {
    /// The position of the first byte of a source.
    pub const START: Pos = Pos {
        offset: 0,
        line: 1,
        column: 1,
    };

    /// Computes the position of byte `offset` in `src` (clamped to the source length and
    /// to a character boundary).
    pub fn at(src: &str, offset: usize) -> Pos {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &src[..offset];
        let line = before.matches('\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = src[line_start..offset].chars().count() as u32 + 1;
        Pos {
            offset,
            line,
            column,
        }
    }
}

/// A half-open range `[start, end)` of source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// First position covered.
    pub start: Pos,
    /// Position just past the last covered character.
    pub end: Pos,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: Pos, end: Pos) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The source text covered by this span (empty if out of range).
    pub fn text(self, src: &str) -> &str {
        src.get(self.start.offset..self.end.offset).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pos_at_counts_lines_and_chars() {
        let src = "ab\nµx\ny";
        assert_eq!(
            Pos::at(src, 0),
            Pos {
                offset: 0,
                line: 1,
                column: 1
            }
        );
        assert_eq!(
            Pos::at(src, 3),
            Pos {
                offset: 3,
                line: 2,
                column: 1
            }
        );
        // 'µ' is two bytes: 'x' is byte 5, column 2.
        assert_eq!(
            Pos::at(src, 5),
            Pos {
                offset: 5,
                line: 2,
                column: 2
            }
        );
        // Offsets inside a character snap back to its start.
        assert_eq!(
            Pos::at(src, 4),
            Pos {
                offset: 3,
                line: 2,
                column: 1
            }
        );
        assert_eq!(Pos::at(src, 100).line, 3);
    }
}
