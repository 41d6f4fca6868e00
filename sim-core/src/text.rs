//! Column layout for the text tables simctl prints (stories, the reach matrix).
//!
//! `format!("{:<w$}")` panics when `w` exceeds `u16::MAX` ("Formatting argument out of
//! range"), and a width computed from user input (a 70,000-character name) can. These
//! pad by hand instead: any width, no panic.

use std::fmt::Write as _;

/// `s` followed by spaces up to `width` characters (nothing added when it is wider).
pub fn pad_right(s: &str, width: usize) -> String {
    let mut out = String::with_capacity(s.len().max(width));
    push_padded(&mut out, s, width);
    out
}

/// Spaces up to `width` characters, then `s`.
pub fn pad_left(s: &str, width: usize) -> String {
    let fill = width.saturating_sub(s.chars().count());
    let mut out = String::with_capacity(s.len() + fill);
    out.extend(std::iter::repeat_n(' ', fill));
    out.push_str(s);
    out
}

/// Append `s` padded to `width` characters to `out`.
pub fn push_padded(out: &mut String, s: &str, width: usize) {
    let fill = width.saturating_sub(s.chars().count());
    let _ = out.write_str(s);
    out.extend(std::iter::repeat_n(' ', fill));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_like_format_and_never_panics() {
        assert_eq!(pad_right("ab", 4), format!("{:<4}", "ab"));
        assert_eq!(pad_left("ab", 4), format!("{:>4}", "ab"));
        assert_eq!(pad_right("abcdef", 2), "abcdef");
        assert_eq!(pad_right("é", 3), "é  ");
        let wide = 70_000;
        assert_eq!(pad_right("x", wide).len(), wide);
        assert_eq!(pad_left("x", wide).len(), wide);
    }
}
