//! Line splitting (RFC 8866 §5): `<type>=<value>` lines ending in CRLF, or in a bare LF, which the RFC
//! tolerates on input and we record as [`Anomalies::LF_ONLY`].

use std::fmt;

use super::{Anomalies, LAYER};
use crate::bytes::Reader;

/// How a [`Line`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineEnding {
    /// `CRLF`, as RFC 8866 §5 requires.
    CrLf,
    /// A bare `LF` (tolerated by RFC 8866 §5, recorded as [`Anomalies::LF_ONLY`]).
    Lf,
    /// The body ended without a line terminator.
    Eof,
}

/// One line of a session description, as it appears in the body (any line type, known or not).
///
/// `Debug` and `Display` redact the values of `a=crypto`, `a=ice-pwd` and `k=` lines, which carry keys and
/// passwords; [`Line::value`] still hands out the raw bytes to a caller that asks for them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    offset: usize,
    raw: &'a [u8],
    ending: LineEnding,
}

impl<'a> Line<'a> {
    /// Byte offset of the line's first byte in the body handed to [`super::Session::parse`].
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The line without its terminator.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// How the line ended.
    pub fn ending(&self) -> LineEnding {
        self.ending
    }

    /// The type letter, when the line has the `<type>=` form of RFC 8866 §5 (`type = %x61-7A`, a lower-case
    /// letter).
    pub fn kind(&self) -> Option<u8> {
        match self.raw {
            [k, b'=', ..] if k.is_ascii_lowercase() => Some(*k),
            _ => None,
        }
    }

    /// The bytes after `<type>=`; the whole line when it is not of that form.
    pub fn value(&self) -> &'a [u8] {
        match self.raw {
            [k, b'=', rest @ ..] if k.is_ascii_lowercase() => rest,
            _ => self.raw,
        }
    }

    /// [`Line::value`] as text, when it is UTF-8 (RFC 8866 §5: the default character set is UTF-8).
    pub fn text(&self) -> Option<&'a str> {
        std::str::from_utf8(self.value()).ok()
    }

    /// True for lines whose value is a secret: `a=crypto` (RFC 4568 key material), `a=ice-pwd` (RFC 8839) and
    /// `k=` (RFC 8866 §5.12).
    pub fn is_secret(&self) -> bool {
        match self.kind() {
            Some(b'k') => true,
            Some(b'a') => {
                let v = self.value();
                v.starts_with(b"crypto:") || v.starts_with(b"ice-pwd:")
            }
            _ => false,
        }
    }

    /// The anomalies this line alone shows.
    pub(super) fn anomalies(&self) -> Anomalies {
        let mut a = Anomalies::empty();
        if self.ending == LineEnding::Lf {
            a |= Anomalies::LF_ONLY;
        }
        if self.raw.is_empty() {
            a |= Anomalies::EMPTY_LINE;
            return a;
        }
        match self.kind() {
            None => a |= Anomalies::MALFORMED_LINE,
            Some(k) if !KNOWN_TYPES.contains(&k) => a |= Anomalies::UNKNOWN_LINE_TYPE,
            Some(_) => {}
        }
        if self.text().is_none() {
            a |= Anomalies::NON_UTF8;
        }
        a
    }

    fn redacted_value(&self) -> Option<&'static str> {
        if !self.is_secret() {
            return None;
        }
        Some(match self.kind() {
            Some(b'k') => "<redacted>",
            _ if self.value().starts_with(b"crypto:") => "crypto:<redacted>",
            _ => "ice-pwd:<redacted>",
        })
    }
}

/// The line types RFC 8866 §5 defines (including the obsolete `k=`).
const KNOWN_TYPES: &[u8] = b"vosiuepcbtrzkam";

impl fmt::Debug for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Line");
        d.field("offset", &self.offset);
        match self.redacted_value() {
            Some(r) => d.field(
                "raw",
                &format_args!(
                    "{}={r}",
                    char::from(self.raw.first().copied().unwrap_or(b'?'))
                ),
            ),
            None => d.field("raw", &format_args!("\"{}\"", self.raw.escape_ascii())),
        };
        d.field("ending", &self.ending).finish()
    }
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.redacted_value(), self.kind()) {
            (Some(r), Some(k)) => write!(f, "{}={r}", char::from(k)),
            _ => write!(f, "{}", self.raw.escape_ascii()),
        }
    }
}

/// Iterator over the [`Line`]s of a body or of one section, from [`super::Session::lines`] or
/// [`super::Media::lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    r: Reader<'a>,
}

impl<'a> Lines<'a> {
    /// Lines of `buf` (offsets count from the start of `buf`), starting at `start`.
    pub(super) fn new(buf: &'a [u8], start: usize) -> Self {
        let mut r = Reader::new(buf, LAYER);
        if r.skip(start).is_err() {
            r.rest();
        }
        Self { r }
    }

    /// Offset of the next line.
    pub(super) fn offset(&self) -> usize {
        self.r.offset()
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        let left = self.r.remaining();
        if left == 0 {
            return None;
        }
        let offset = self.r.offset();
        let rest = self.r.peek(left).ok()?;
        let (body, ending) = match memchr::memchr(b'\n', rest) {
            Some(n) => {
                let body = self.r.take(n).ok()?;
                self.r.skip(1).ok()?;
                match body.strip_suffix(b"\r") {
                    Some(b) => (b, LineEnding::CrLf),
                    None => (body, LineEnding::Lf),
                }
            }
            None => (self.r.rest(), LineEnding::Eof),
        };
        Some(Line {
            offset,
            raw: body,
            ending,
        })
    }
}

/// Splits `s` at its first run of ASCII whitespace: the first token, and the rest (starting with the
/// whitespace). `None` when `s` holds only whitespace.
pub(super) fn token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    if s.is_empty() {
        return None;
    }
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => s.split_at_checked(i),
        None => Some((s, "")),
    }
}

/// `s` without surrounding ASCII whitespace.
pub(super) fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_crlf_and_lf_and_keep_offsets() {
        let b = b"v=0\r\no=x\ns=\r\nt=0 0";
        let l: Vec<_> = Lines::new(b, 0).collect();
        assert_eq!(l.len(), 4);
        assert_eq!(
            (l[0].offset(), l[0].raw(), l[0].ending()),
            (0, &b"v=0"[..], LineEnding::CrLf)
        );
        assert_eq!(
            (l[1].offset(), l[1].raw(), l[1].ending()),
            (5, &b"o=x"[..], LineEnding::Lf)
        );
        assert_eq!(
            (l[2].offset(), l[2].raw(), l[2].ending()),
            (9, &b"s="[..], LineEnding::CrLf)
        );
        assert_eq!(
            (l[3].offset(), l[3].raw(), l[3].ending()),
            (13, &b"t=0 0"[..], LineEnding::Eof)
        );
        assert_eq!(l[1].anomalies(), Anomalies::LF_ONLY);
        assert_eq!(l[2].text(), Some(""));
    }

    #[test]
    fn line_anomalies_name_the_fault() {
        let mk = |raw: &'static [u8]| Line {
            offset: 0,
            raw,
            ending: LineEnding::CrLf,
        };
        assert_eq!(mk(b"").anomalies(), Anomalies::EMPTY_LINE);
        assert_eq!(mk(b"hello").anomalies(), Anomalies::MALFORMED_LINE);
        assert_eq!(mk(b"x=1").anomalies(), Anomalies::UNKNOWN_LINE_TYPE);
        assert_eq!(mk(b"s=\xff").anomalies(), Anomalies::NON_UTF8);
        assert_eq!(mk(b"V=0").kind(), None);
    }

    #[test]
    fn secret_lines_are_redacted_in_debug_and_display() {
        let l = Line {
            offset: 0,
            raw: b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:SECRETKEY",
            ending: LineEnding::CrLf,
        };
        assert!(l.is_secret());
        assert!(!format!("{l:?}").contains("SECRET"));
        assert_eq!(l.to_string(), "a=crypto:<redacted>");
        let p = Line {
            offset: 0,
            raw: b"a=ice-pwd:SECRETPWD",
            ending: LineEnding::CrLf,
        };
        assert_eq!(p.to_string(), "a=ice-pwd:<redacted>");
        assert!(!format!("{p:?}").contains("SECRET"));
        let k = Line {
            offset: 0,
            raw: b"k=clear:SECRET",
            ending: LineEnding::CrLf,
        };
        assert_eq!(k.to_string(), "k=<redacted>");
    }

    #[test]
    fn tokens_skip_whitespace_runs() {
        assert_eq!(token("  a  b"), Some(("a", "  b")));
        assert_eq!(token("a"), Some(("a", "")));
        assert_eq!(token("   "), None);
        assert_eq!(trim(" x \t"), "x");
    }
}
