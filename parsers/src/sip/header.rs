//! Header fields (RFC 3261 §7.3, §20): the raw line scanner, header names with their compact forms, and
//! the structured values the sensor reads (Via, name-addr, CSeq, media types, parameters).

use std::fmt;

use super::uri::{HostPort, Uri};
use super::{Method, is_token, is_token_str, trim_lws};

/// Raw header text: a span of the packet, possibly spread over folded lines (RFC 3261 §7.3.1) and
/// possibly not UTF-8. [`Text::segments`] and `Display` give the unfolded value without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Text<'a>(&'a [u8]);

impl<'a> Text<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Text(bytes)
    }

    /// The bytes as they are in the packet, folding included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The text as it is in the packet (folding included), if it is UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.0).ok()
    }

    /// Whether the value spans several lines (`LWS` = [*WSP CRLF] 1*WSP).
    pub fn is_folded(&self) -> bool {
        memchr::memchr2(b'\r', b'\n', self.0).is_some()
    }

    /// The lines of the value, each without its line end and surrounding SP/HT; empty lines are skipped.
    /// Joining them with one SP gives the unfolded value (RFC 3261 §7.3.1).
    pub fn segments(&self) -> Segments<'a> {
        Segments { rest: self.0 }
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Text<'_> {
    /// The unfolded value; bytes that are not UTF-8 are shown as U+FFFD.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            for chunk in seg.utf8_chunks() {
                f.write_str(chunk.valid())?;
                if !chunk.invalid().is_empty() {
                    f.write_str("\u{FFFD}")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({:?})", self.0.escape_ascii().to_string())
    }
}

/// The lines of a folded [`Text`], see [`Text::segments`].
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let (line, rest) = match memchr::memchr(b'\n', self.rest) {
                Some(i) => (
                    self.rest.get(..i).unwrap_or(&[]),
                    self.rest.get(i.saturating_add(1)..).unwrap_or(&[]),
                ),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let line = line.trim_ascii();
            if !line.is_empty() {
                return Some(line);
            }
        }
        None
    }
}

macro_rules! names {
    ($($(#[$doc:meta])* $variant:ident = $canonical:literal $(, $compact:literal)?;)*) => {
        /// Header field names the index knows (RFC 3261 §20 and the extensions named on each), with their
        /// compact forms (RFC 3261 §7.3.3 and the IANA SIP parameters registry).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Name {
            $($(#[$doc])* $variant,)*
        }

        impl Name {
            /// Every known name, in index order.
            pub const ALL: &'static [Name] = &[$(Name::$variant,)*];

            /// How many names are known.
            pub const COUNT: usize = Name::ALL.len();

            /// The canonical (long) spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Name::$variant => $canonical,)*
                }
            }

            /// The compact form, if there is one.
            pub fn compact(self) -> Option<char> {
                match self {
                    $(Name::$variant => None $(.or(Some($compact)))?,)*
                }
            }
        }
    };
}

names! {
    /// Via (RFC 3261 §20.42).
    Via = "Via", 'v';
    /// From (RFC 3261 §20.20).
    From = "From", 'f';
    /// To (RFC 3261 §20.39).
    To = "To", 't';
    /// Call-ID (RFC 3261 §20.8).
    CallId = "Call-ID", 'i';
    /// CSeq (RFC 3261 §20.16).
    CSeq = "CSeq";
    /// Contact (RFC 3261 §20.10).
    Contact = "Contact", 'm';
    /// Max-Forwards (RFC 3261 §20.22).
    MaxForwards = "Max-Forwards";
    /// Content-Length (RFC 3261 §20.14).
    ContentLength = "Content-Length", 'l';
    /// Content-Type (RFC 3261 §20.15).
    ContentType = "Content-Type", 'c';
    /// Content-Encoding (RFC 3261 §20.12).
    ContentEncoding = "Content-Encoding", 'e';
    /// User-Agent (RFC 3261 §20.41).
    UserAgent = "User-Agent";
    /// Server (RFC 3261 §20.35).
    Server = "Server";
    /// Authorization (RFC 3261 §20.7).
    Authorization = "Authorization";
    /// Proxy-Authorization (RFC 3261 §20.28).
    ProxyAuthorization = "Proxy-Authorization";
    /// WWW-Authenticate (RFC 3261 §20.44).
    WwwAuthenticate = "WWW-Authenticate";
    /// Proxy-Authenticate (RFC 3261 §20.27).
    ProxyAuthenticate = "Proxy-Authenticate";
    /// P-Asserted-Identity (RFC 3325 §9.1).
    PAssertedIdentity = "P-Asserted-Identity";
    /// Identity (RFC 8224 §4).
    Identity = "Identity", 'y';
    /// Identity-Info (RFC 4474, obsoleted by RFC 8224).
    IdentityInfo = "Identity-Info", 'n';
    /// Record-Route (RFC 3261 §20.30).
    RecordRoute = "Record-Route";
    /// Route (RFC 3261 §20.34).
    Route = "Route";
    /// Expires (RFC 3261 §20.19).
    Expires = "Expires";
    /// Subject (RFC 3261 §20.36).
    Subject = "Subject", 's';
    /// Supported (RFC 3261 §20.37).
    Supported = "Supported", 'k';
    /// Require (RFC 3261 §20.32).
    Require = "Require";
    /// Proxy-Require (RFC 3261 §20.29).
    ProxyRequire = "Proxy-Require";
    /// Allow (RFC 3261 §20.5).
    Allow = "Allow";
    /// Date (RFC 3261 §20.17).
    Date = "Date";
    /// Event (RFC 6665 §8.2.1).
    Event = "Event", 'o';
    /// Allow-Events (RFC 6665 §8.2.2).
    AllowEvents = "Allow-Events", 'u';
    /// Refer-To (RFC 3515 §2.1).
    ReferTo = "Refer-To", 'r';
    /// Referred-By (RFC 3892 §3).
    ReferredBy = "Referred-By", 'b';
    /// Session-Expires (RFC 4028 §4).
    SessionExpires = "Session-Expires", 'x';
    /// Accept-Contact (RFC 3841 §10).
    AcceptContact = "Accept-Contact", 'a';
    /// Reject-Contact (RFC 3841 §10).
    RejectContact = "Reject-Contact", 'j';
    /// Request-Disposition (RFC 3841 §10).
    RequestDisposition = "Request-Disposition", 'd';
}

impl Name {
    /// The known name spelled `name`: long or compact form, case-insensitive (RFC 3261 §7.3.1, §7.3.3).
    pub fn lookup(name: &str) -> Option<Name> {
        let b = name.as_bytes();
        if let [c] = b {
            let c = char::from(c.to_ascii_lowercase());
            return Name::ALL.iter().copied().find(|n| n.compact() == Some(c));
        }
        // Runs for every header of every message: pick the few names of this length, then compare.
        // (`every_name_is_found_by_its_spellings` checks this table against `Name::ALL`.)
        use Name::*;
        let candidates: &[Name] = match b.len() {
            2 => &[To],
            3 => &[Via],
            4 => &[From, CSeq, Date],
            5 => &[Route, Allow, Event],
            6 => &[Server],
            7 => &[CallId, Contact, Expires, Subject, Require],
            8 => &[Identity, ReferTo],
            9 => &[Supported],
            10 => &[UserAgent],
            11 => &[ReferredBy],
            12 => &[MaxForwards, ContentType, RecordRoute, AllowEvents],
            13 => &[Authorization, IdentityInfo, ProxyRequire],
            14 => &[ContentLength, AcceptContact, RejectContact],
            15 => &[SessionExpires],
            16 => &[ContentEncoding, WwwAuthenticate],
            18 => &[ProxyAuthenticate],
            19 => &[ProxyAuthorization, PAssertedIdentity, RequestDisposition],
            _ => &[],
        };
        candidates
            .iter()
            .copied()
            .find(|n| n.as_str().as_bytes().eq_ignore_ascii_case(b))
    }

    /// Dense index into [`Name::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header field (RFC 3261 §7.3.1 `message-header`): its name as written and its value, with leading
/// and trailing LWS removed and folding kept.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name as written (a `token`).
    pub name: &'a str,
    /// The field value.
    pub value: Text<'a>,
    /// Offset of the field's line from the start of the buffer handed to the parser.
    pub offset: usize,
}

impl<'a> Header<'a> {
    /// The known name this field has, long or compact.
    pub fn kind(&self) -> Option<Name> {
        Name::lookup(self.name)
    }

    /// Whether the name is `name` (case-insensitive; compact forms of known names match their long form).
    pub fn is(&self, name: &str) -> bool {
        match (Name::lookup(self.name), Name::lookup(name)) {
            (Some(a), Some(b)) => a == b,
            _ => self.name.eq_ignore_ascii_case(name),
        }
    }

    fn is_credentials(&self) -> bool {
        matches!(
            self.kind(),
            Some(Name::Authorization | Name::ProxyAuthorization)
        )
    }
}

impl fmt::Display for Header<'_> {
    /// `Name: unfolded value`; the value of Authorization and Proxy-Authorization is shown through
    /// [`super::Credentials`], so the digest response never appears.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_credentials() {
            match self.value.as_str() {
                Some(v) => write!(f, "{}: {}", self.name, super::Credentials::parse(v)),
                None => write!(f, "{}: <redacted>", self.name),
            }
        } else {
            write!(f, "{}: {}", self.name, self.value)
        }
    }
}

impl fmt::Debug for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Header");
        d.field("name", &self.name);
        if self.is_credentials() {
            d.field("value", &format_args!("<credentials, see Credentials>"));
        } else {
            d.field("value", &self.value);
        }
        d.field("offset", &self.offset).finish()
    }
}

/// Lazy iterator over the header fields of a header section (see [`super::Message::headers`]). Lines
/// without a colon or whose name is not a `token` are skipped; continuation lines are joined to the field
/// they continue.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    head: &'a [u8],
    base: usize,
    pos: usize,
    limit: usize,
    yielded: usize,
    pub(crate) folded: bool,
    pub(crate) invalid: bool,
    pub(crate) clipped: bool,
}

impl<'a> Headers<'a> {
    /// Header lines of `head` (which holds no start line and no empty line), yielding at most `limit`
    /// fields; offsets are counted from `base`.
    pub(crate) fn new(head: &'a [u8], base: usize, limit: usize) -> Self {
        Headers {
            head,
            base,
            pos: 0,
            limit,
            yielded: 0,
            folded: false,
            invalid: false,
            clipped: false,
        }
    }

    /// Every header of a complete header section, start line included (it is skipped as invalid).
    pub(crate) fn new_unbounded(head: &'a [u8]) -> Self {
        let mut h = Headers::new(head, 0, usize::MAX);
        h.pos = memchr::memchr(b'\n', head).map_or(head.len(), |i| i.saturating_add(1));
        h
    }

    /// Same iterator, started at `offset` (an offset returned in [`Header::offset`]).
    pub(crate) fn starting_at(mut self, offset: usize) -> Self {
        self.pos = offset.saturating_sub(self.base).min(self.head.len());
        self
    }

    /// The line at `pos`: (end of content without CR, start of next line).
    fn line_at(&self, pos: usize) -> (usize, usize) {
        let rest = self.head.get(pos..).unwrap_or(&[]);
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let lf = pos.saturating_add(i);
                let end = if lf > pos && self.head.get(lf.saturating_sub(1)) == Some(&b'\r') {
                    lf.saturating_sub(1)
                } else {
                    lf
                };
                (end, lf.saturating_add(1))
            }
            None => (self.head.len(), self.head.len()),
        }
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        while self.pos < self.head.len() {
            if self.yielded >= self.limit {
                self.clipped = true;
                return None;
            }
            let start = self.pos;
            let (line_end, next) = self.line_at(start);
            self.pos = next;
            let line = self.head.get(start..line_end).unwrap_or(&[]);
            match line.first() {
                None => continue,
                Some(b' ' | b'\t') => {
                    // A continuation line with no field before it.
                    self.invalid = true;
                    continue;
                }
                Some(_) => {}
            }
            let mut end = line_end;
            while matches!(self.head.get(self.pos), Some(b' ' | b'\t')) {
                let (e, n) = self.line_at(self.pos);
                end = e;
                self.pos = n;
                self.folded = true;
            }
            let Some(colon) = memchr::memchr(b':', line) else {
                self.invalid = true;
                continue;
            };
            let name = line.get(..colon).unwrap_or(&[]).trim_ascii_end();
            let name = match std::str::from_utf8(name) {
                Ok(n) if is_token_str(n) => n,
                _ => {
                    self.invalid = true;
                    continue;
                }
            };
            let value = self
                .head
                .get(start.saturating_add(colon).saturating_add(1)..end)
                .unwrap_or(&[])
                .trim_ascii();
            self.yielded = self.yielded.saturating_add(1);
            return Some(Header {
                name,
                value: Text(value),
                offset: self.base.saturating_add(start),
            });
        }
        None
    }
}

/// Byte offsets of `sep` in `s` outside quoted strings (with `\` escapes) and outside `<...>`.
fn find_top_level(s: &str, sep: u8) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    let mut angle = false;
    for (i, b) in s.bytes().enumerate() {
        if quoted {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = false;
            }
            continue;
        }
        match b {
            b'"' => quoted = true,
            b'<' => angle = true,
            b'>' => angle = false,
            _ if b == sep && !angle => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits `s` at the first top-level `sep`: (before, after), `after` being `None` when there is none.
pub(crate) fn split_top_level(s: &str, sep: u8) -> (&str, Option<&str>) {
    match find_top_level(s, sep) {
        Some(i) => (
            s.get(..i).unwrap_or(""),
            Some(s.get(i.saturating_add(1)..).unwrap_or("")),
        ),
        None => (s, None),
    }
}

/// Elements of a comma-separated list (RFC 3261 §7.3.1), quoted strings and `<...>` respected. Elements
/// are LWS-trimmed; empty elements are yielded as empty strings.
#[derive(Debug, Clone)]
pub(crate) struct List<'a> {
    rest: Option<&'a str>,
}

impl<'a> List<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        List { rest: Some(s) }
    }
}

impl<'a> Iterator for List<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let (item, rest) = split_top_level(s, b',');
        self.rest = rest;
        Some(trim_lws(item))
    }
}

/// The values of every field named `name` in a header iterator, each field split at top-level commas: the
/// multi-valued fields Via, Contact, Route and Record-Route (RFC 3261 §7.3.1).
#[derive(Debug, Clone)]
pub(crate) struct Values<'a> {
    headers: Headers<'a>,
    name: Name,
    list: Option<List<'a>>,
}

impl<'a> Values<'a> {
    pub(crate) fn new(headers: Headers<'a>, name: Name) -> Self {
        Values {
            headers,
            name,
            list: None,
        }
    }
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        loop {
            if let Some(v) = self.list.as_mut().and_then(Iterator::next) {
                return Some(v);
            }
            let h = self
                .headers
                .by_ref()
                .find(|h| h.kind() == Some(self.name))?;
            self.list = h.value.as_str().map(List::new);
        }
    }
}

/// One `generic-param` (RFC 3261 §25.1): `token [EQUAL gen-value]`, the value unquoted (escapes kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The parameter name.
    pub name: &'a str,
    /// The value, without surrounding quotes, if there is one.
    pub value: Option<&'a str>,
}

impl fmt::Display for Param<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(v) => write!(f, "{}={}", self.name, v),
            None => f.write_str(self.name),
        }
    }
}

/// A `;`-separated parameter list (RFC 3261 §19.1.1 `uri-parameters`, §20 `generic-param`), read lazily.
/// Empty elements (`;;`) are skipped by the iterator and make [`Params::is_well_formed`] false.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Params<'a> {
    raw: &'a str,
}

impl<'a> Params<'a> {
    /// The parameters in `raw`, which starts at the first `;` (or is empty).
    pub(crate) fn new(raw: &'a str) -> Self {
        Params { raw }
    }

    /// The parameter text as written.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Iterates over the parameters in order.
    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter {
            rest: Some(self.raw),
        }
    }

    /// The first parameter named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<Param<'a>> {
        self.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The value of the first parameter named `name`, if it has one.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(|p| p.value)
    }

    /// Whether a parameter named `name` is present, with or without a value.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether the list is `*( SEMI generic-param )`: no empty element and every name a `token`.
    pub fn is_well_formed(&self) -> bool {
        let raw = trim_lws(self.raw);
        if raw.is_empty() {
            return true;
        }
        let Some(body) = raw.strip_prefix(';') else {
            return false;
        };
        let mut rest = Some(body);
        while let Some(s) = rest {
            let (item, next) = split_top_level(s, b';');
            rest = next;
            let (name, _) = split_top_level(item, b'=');
            if !is_token_str(trim_lws(name)) {
                return false;
            }
        }
        true
    }
}

impl<'a> IntoIterator for Params<'a> {
    type Item = Param<'a>;
    type IntoIter = ParamIter<'a>;
    fn into_iter(self) -> ParamIter<'a> {
        self.iter()
    }
}

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.iter() {
            write!(f, ";{p}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over [`Params`].
#[derive(Debug, Clone)]
pub struct ParamIter<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = Param<'a>;
    fn next(&mut self) -> Option<Param<'a>> {
        loop {
            let s = self.rest?;
            let (item, rest) = split_top_level(s, b';');
            self.rest = rest;
            let item = trim_lws(item);
            if item.is_empty() {
                continue;
            }
            let (name, value) = split_top_level(item, b'=');
            let name = trim_lws(name);
            if name.is_empty() {
                continue;
            }
            return Some(Param {
                name,
                value: value.map(|v| unquote(trim_lws(v))),
            });
        }
    }
}

/// The content of a `quoted-string` (escapes kept), or `s` itself when it is not quoted.
pub(crate) fn unquote(s: &str) -> &str {
    match s.strip_prefix('"') {
        Some(inner) => match quoted_end(inner) {
            Some(end) => inner.get(..end).unwrap_or(inner),
            None => inner,
        },
        None => s,
    }
}

/// Offset of the closing DQUOTE in `s` (which starts just after the opening one), `\` escapes skipped.
fn quoted_end(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return Some(i);
        }
    }
    None
}

/// A `name-addr` or `addr-spec` with header parameters (RFC 3261 §20.10, §20.20, §20.39, §25.1):
/// `"Display" <sip:user@host;uri-params>;header-params`, `sip:user@host;header-params`, or `*`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    raw: &'a str,
    display: Option<&'a str>,
    uri: Uri<'a>,
    params: Params<'a>,
    bracketed: bool,
    star: bool,
    well_formed: bool,
}

impl<'a> NameAddr<'a> {
    /// Reads one value; never fails, see [`NameAddr::is_well_formed`].
    pub fn parse(raw: &'a str) -> Self {
        let s = trim_lws(raw);
        let mut na = NameAddr {
            raw: s,
            display: None,
            uri: Uri::parse(""),
            params: Params::new(""),
            bracketed: false,
            star: s == "*",
            well_formed: true,
        };
        if na.star {
            return na;
        }
        let after_display = if let Some(inner) = s.strip_prefix('"') {
            // quoted-string display name
            let Some(end) = quoted_end(inner) else {
                na.display = Some(inner);
                na.well_formed = false;
                return na;
            };
            na.display = Some(inner.get(..end).unwrap_or(""));
            let rest = trim_lws(inner.get(end.saturating_add(1)..).unwrap_or(""));
            if !rest.starts_with('<') {
                na.well_formed = false;
            }
            rest
        } else {
            s
        };
        match after_display.find('<') {
            Some(lt) if !after_display.get(..lt).unwrap_or("").contains(';') => {
                let before = trim_lws(after_display.get(..lt).unwrap_or(""));
                if na.display.is_none() && !before.is_empty() {
                    // *(token LWS): an unquoted display name must be tokens.
                    if !before
                        .split([' ', '\t', '\r', '\n'])
                        .all(|w| w.is_empty() || is_token_str(w))
                    {
                        na.well_formed = false;
                    }
                    na.display = Some(before);
                }
                let inside = after_display.get(lt.saturating_add(1)..).unwrap_or("");
                let (uri, rest) = match inside.find('>') {
                    Some(gt) => (
                        inside.get(..gt).unwrap_or(""),
                        inside.get(gt.saturating_add(1)..).unwrap_or(""),
                    ),
                    None => {
                        na.well_formed = false;
                        (inside, "")
                    }
                };
                if trim_lws(uri).len() != uri.len() {
                    // Spaces within addr-spec (RFC 4475 §3.1.2.14).
                    na.well_formed = false;
                }
                na.uri = Uri::parse(trim_lws(uri));
                na.bracketed = true;
                let rest = trim_lws(rest);
                if !rest.is_empty() && !rest.starts_with(';') {
                    na.well_formed = false;
                }
                na.params = Params::new(rest);
            }
            _ => {
                // addr-spec: header parameters start at the first ';' (RFC 3261 §20.10).
                let (uri, params) = match after_display.find(';') {
                    Some(i) => (
                        after_display.get(..i).unwrap_or(""),
                        after_display.get(i..).unwrap_or(""),
                    ),
                    None => (after_display, ""),
                };
                let uri = trim_lws(uri);
                if uri.contains(['?', ',', ' ', '\t', '"']) || na.display.is_some() {
                    // RFC 3261 §20: a URI with ',', '?' or ';' must be in <> (RFC 4475 §3.1.2.13).
                    na.well_formed = false;
                }
                na.uri = Uri::parse(uri);
                na.params = Params::new(params);
            }
        }
        if !na.params.is_well_formed() || !na.uri.is_well_formed() {
            na.well_formed = false;
        }
        na
    }

    /// The value as written (LWS-trimmed).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The display name: the content of the quoted string (escapes kept) or the unquoted tokens.
    pub fn display_name(&self) -> Option<&'a str> {
        self.display
    }

    /// The URI.
    pub fn uri(&self) -> &Uri<'a> {
        &self.uri
    }

    /// The header parameters (after `>`, or after the first `;` of an addr-spec).
    pub fn params(&self) -> Params<'a> {
        self.params
    }

    /// The `tag` parameter (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&'a str> {
        self.params.value("tag")
    }

    /// The `expires` parameter of a Contact (RFC 3261 §20.10), if it is a 32-bit `delta-seconds`.
    pub fn expires(&self) -> Option<u32> {
        self.params.value("expires").and_then(|v| v.parse().ok())
    }

    /// The `q` parameter of a Contact (RFC 3261 §20.10), as written.
    pub fn q(&self) -> Option<&'a str> {
        self.params.value("q")
    }

    /// Whether this is the `*` of a REGISTER that removes all bindings (RFC 3261 §10.2.2).
    pub fn is_star(&self) -> bool {
        self.star
    }

    /// Whether the URI was enclosed in `<>` (name-addr form).
    pub fn is_bracketed(&self) -> bool {
        self.bracketed
    }

    /// Whether the value matches `name-addr` / `addr-spec` *(SEMI param): quotes balanced, `<>` closed,
    /// no whitespace inside `<>`, an unquoted display name made of tokens, an addr-spec without `?` or
    /// `,`, well-formed parameters and URI.
    pub fn is_well_formed(&self) -> bool {
        self.well_formed
    }
}

impl fmt::Display for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.star {
            return f.write_str("*");
        }
        if let Some(d) = self.display {
            write!(f, "\"{d}\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

impl fmt::Debug for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameAddr")
            .field("display", &self.display)
            .field("uri", &self.uri)
            .field("params", &self.params)
            .field("star", &self.star)
            .field("well_formed", &self.well_formed)
            .finish()
    }
}

/// One Via value (RFC 3261 §20.42, `via-parm`): `sent-protocol LWS sent-by *( SEMI via-params )`, e.g.
/// `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport`. LWS around `/` and `=` is accepted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    raw: &'a str,
    protocol: &'a str,
    version: &'a str,
    transport: &'a str,
    sent_by: HostPort<'a>,
    params: Params<'a>,
    well_formed: bool,
}

impl<'a> Via<'a> {
    /// Reads one value; never fails, see [`Via::is_well_formed`].
    pub fn parse(raw: &'a str) -> Self {
        let s = trim_lws(raw);
        let mut ok = true;
        let mut rest = s;
        let protocol = take_token(&mut rest);
        let mut version = "";
        let mut transport = "";
        if take_char(&mut rest, '/') {
            version = take_token(&mut rest);
            if take_char(&mut rest, '/') {
                transport = take_token(&mut rest);
            }
        }
        if protocol.is_empty() || version.is_empty() || transport.is_empty() {
            ok = false;
        }
        let t = trim_lws_start(rest);
        let end = t
            .bytes()
            .position(|b| matches!(b, b';' | b' ' | b'\t' | b'\r' | b'\n' | b','))
            .unwrap_or(t.len());
        let (sent_by, after) = t.split_at_checked(end).unwrap_or((t, ""));
        let (sent_by, sb_ok) = HostPort::parse(sent_by);
        ok &= sb_ok;
        let params_raw = trim_lws(after);
        if !params_raw.is_empty() && !params_raw.starts_with(';') {
            ok = false;
        }
        let params = Params::new(params_raw);
        ok &= params.is_well_formed();
        Via {
            raw: s,
            protocol,
            version,
            transport,
            sent_by,
            params,
            well_formed: ok,
        }
    }

    /// The value as written (LWS-trimmed).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// Protocol name of `sent-protocol`, normally `SIP`.
    pub fn protocol(&self) -> &'a str {
        self.protocol
    }

    /// Protocol version of `sent-protocol`, normally `2.0`.
    pub fn version(&self) -> &'a str {
        self.version
    }

    /// The `transport` of `sent-protocol` as written: UDP, TCP, TLS, SCTP, WS, WSS or another token.
    pub fn transport(&self) -> &'a str {
        self.transport
    }

    /// `sent-by`: host and optional port.
    pub fn sent_by(&self) -> HostPort<'a> {
        self.sent_by
    }

    /// The `via-params`.
    pub fn params(&self) -> Params<'a> {
        self.params
    }

    /// The `branch` parameter (RFC 3261 §8.1.1.7).
    pub fn branch(&self) -> Option<&'a str> {
        self.params.value("branch")
    }

    /// Whether the branch starts with the RFC 3261 magic cookie `z9hG4bK` and has something after it
    /// (RFC 3261 §8.1.1.7, RFC 4475 §3.2.1).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .and_then(|b| b.strip_prefix("z9hG4bK"))
            .is_some_and(|rest| !rest.is_empty())
    }

    /// The `received` parameter as written (RFC 3261 §18.2.1); RFC 5118 §4.5 allows it with or without
    /// `[]` around an IPv6 address.
    pub fn received(&self) -> Option<&'a str> {
        self.params.value("received")
    }

    /// The `received` parameter as an address, with or without `[]`.
    pub fn received_addr(&self) -> Option<std::net::IpAddr> {
        let r = self.received()?;
        let r = r
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(r);
        r.parse().ok()
    }

    /// Whether the `rport` parameter is present (RFC 3581).
    pub fn has_rport(&self) -> bool {
        self.params.has("rport")
    }

    /// The value of the `rport` parameter, when filled in by a server (RFC 3581 §4).
    pub fn rport(&self) -> Option<u16> {
        self.params.value("rport").and_then(|v| v.parse().ok())
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.params.value("maddr")
    }

    /// Whether the value matches `via-parm`.
    pub fn is_well_formed(&self) -> bool {
        self.well_formed
    }
}

/// Takes a `token` after optional LWS.
fn take_token<'a>(rest: &mut &'a str) -> &'a str {
    let t = trim_lws_start(rest);
    let end = t.bytes().position(|b| !is_token(b)).unwrap_or(t.len());
    let (tok, after) = t.split_at_checked(end).unwrap_or((t, ""));
    *rest = after;
    tok
}

/// Takes `c` after optional LWS (`SLASH` = SWS "/" SWS and the like).
fn take_char(rest: &mut &str, c: char) -> bool {
    match trim_lws_start(rest).strip_prefix(c) {
        Some(r) => {
            *rest = r;
            true
        }
        None => false,
    }
}

fn trim_lws_start(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\r', '\n'])
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}{}",
            self.protocol, self.version, self.transport, self.sent_by, self.params
        )
    }
}

impl fmt::Debug for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Via")
            .field("transport", &self.transport)
            .field("sent_by", &self.sent_by)
            .field("params", &self.params)
            .field("well_formed", &self.well_formed)
            .finish()
    }
}

/// CSeq (RFC 3261 §20.16): `1*DIGIT LWS Method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// The sequence number.
    pub number: u32,
    /// The method.
    pub method: Method<'a>,
}

impl<'a> CSeq<'a> {
    /// Reads `1*DIGIT LWS Method`; `None` when the number is not a 32-bit decimal or the method not a
    /// `token`. RFC 3261 also wants the number below 2**31: see [`CSeq::is_in_range`].
    pub fn parse(s: &'a str) -> Option<Self> {
        let s = trim_lws(s);
        let end = s.bytes().position(|b| !b.is_ascii_digit())?;
        let (digits, rest) = s.split_at_checked(end)?;
        if digits.is_empty() || trim_lws_start(rest).len() == rest.len() {
            return None;
        }
        let method = trim_lws(rest);
        if !is_token_str(method) {
            return None;
        }
        Some(CSeq {
            number: digits.parse().ok()?,
            method: Method::parse(method),
        })
    }

    /// Whether the number is below 2**31 (RFC 3261 §8.1.1.5).
    pub fn is_in_range(&self) -> bool {
        self.number < 1 << 31
    }
}

impl fmt::Display for CSeq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.number, self.method)
    }
}

/// A media type (RFC 3261 §20.15 `media-type`): `type "/" subtype *(SEMI m-parameter)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// The top-level type, e.g. `application`.
    pub ty: &'a str,
    /// The subtype, e.g. `sdp`.
    pub subtype: &'a str,
    /// The parameters.
    pub params: Params<'a>,
}

impl<'a> MediaType<'a> {
    /// Reads a media type; `None` without a `/`.
    pub fn parse(s: &'a str) -> Option<Self> {
        let (ty_sub, params) = match s.find(';') {
            Some(i) => (s.get(..i)?, s.get(i..)?),
            None => (s, ""),
        };
        let (ty, subtype) = ty_sub.split_once('/')?;
        Some(MediaType {
            ty: trim_lws(ty),
            subtype: trim_lws(subtype),
            params: Params::new(params),
        })
    }

    /// Whether this is `application/sdp` (RFC 4566), case-insensitive.
    pub fn is_sdp(&self) -> bool {
        self.ty.eq_ignore_ascii_case("application") && self.subtype.eq_ignore_ascii_case("sdp")
    }
}

impl fmt::Display for MediaType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.ty, self.subtype, self.params)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_name_is_found_by_its_spellings() {
        for n in Name::ALL {
            let long = n.as_str();
            assert_eq!(Name::lookup(long), Some(*n), "{long}");
            assert_eq!(Name::lookup(&long.to_ascii_lowercase()), Some(*n), "{long}");
            assert_eq!(Name::lookup(&long.to_ascii_uppercase()), Some(*n), "{long}");
            if let Some(c) = n.compact() {
                assert_eq!(Name::lookup(&c.to_string()), Some(*n), "{c}");
                assert_eq!(
                    Name::lookup(&c.to_ascii_uppercase().to_string()),
                    Some(*n),
                    "{c}"
                );
            }
        }
        assert_eq!(Name::lookup("X-Custom"), None);
        assert_eq!(Name::lookup(""), None);
    }
    use super::*;
    use crate::sip::Host;

    #[test]
    fn compact_forms_and_case_map_to_known_names() {
        assert_eq!(Name::lookup("v"), Some(Name::Via));
        assert_eq!(Name::lookup("V"), Some(Name::Via));
        assert_eq!(Name::lookup("vIa"), Some(Name::Via));
        assert_eq!(Name::lookup("i"), Some(Name::CallId));
        assert_eq!(Name::lookup("m"), Some(Name::Contact));
        assert_eq!(Name::lookup("e"), Some(Name::ContentEncoding));
        assert_eq!(Name::lookup("l"), Some(Name::ContentLength));
        assert_eq!(Name::lookup("c"), Some(Name::ContentType));
        assert_eq!(Name::lookup("f"), Some(Name::From));
        assert_eq!(Name::lookup("s"), Some(Name::Subject));
        assert_eq!(Name::lookup("k"), Some(Name::Supported));
        assert_eq!(Name::lookup("t"), Some(Name::To));
        assert_eq!(Name::lookup("o"), Some(Name::Event));
        assert_eq!(Name::lookup("r"), Some(Name::ReferTo));
        assert_eq!(Name::lookup("b"), Some(Name::ReferredBy));
        assert_eq!(Name::lookup("x"), Some(Name::SessionExpires));
        assert_eq!(Name::lookup("y"), Some(Name::Identity));
        assert_eq!(
            Name::lookup("www-authenticate"),
            Some(Name::WwwAuthenticate)
        );
        assert_eq!(Name::lookup("q"), None);
        assert_eq!(Name::lookup("X-Custom"), None);
        for (i, n) in Name::ALL.iter().enumerate() {
            assert_eq!(n.index(), i);
            assert_eq!(Name::lookup(n.as_str()), Some(*n));
        }
    }

    #[test]
    fn folded_values_unfold_without_allocating_segments() {
        let t = Text(b"first line\r\n  second\r\n\tthird");
        assert!(t.is_folded());
        let segs: Vec<&[u8]> = t.segments().collect();
        assert_eq!(segs, [&b"first line"[..], b"second", b"third"]);
        assert_eq!(t.to_string(), "first line second third");
        assert_eq!(Text(b"caf\xff").to_string(), "caf\u{FFFD}");
    }

    #[test]
    fn header_lines_are_scanned_with_folding_and_bad_lines_skipped() {
        let head = b"Subject: one\r\n two\r\nno colon here\r\nBad Name: x\r\n orphan\r\nTo : <sip:a@b>\r\nEmpty:\r\n";
        let mut it = Headers::new(head, 100, usize::MAX);
        let h = it.next().unwrap();
        assert_eq!(h.name, "Subject");
        assert_eq!(h.value.to_string(), "one two");
        assert_eq!(h.offset, 100);
        let h = it.next().unwrap();
        assert_eq!(h.name, "To");
        assert_eq!(h.value.as_str(), Some("<sip:a@b>"));
        let h = it.next().unwrap();
        assert_eq!((h.name, h.value.as_bytes()), ("Empty", &b""[..]));
        assert!(it.next().is_none());
        assert!(it.folded && it.invalid && !it.clipped);
    }

    #[test]
    fn lists_split_at_commas_outside_quotes_and_brackets() {
        let v: Vec<&str> =
            List::new(r#""Doe, John" <sip:j@x;a=1,2>;q=0.5 , <sip:k@y>,"a\",b" <sip:z@z>"#)
                .collect();
        assert_eq!(
            v,
            [
                r#""Doe, John" <sip:j@x;a=1,2>;q=0.5"#,
                "<sip:k@y>",
                r#""a\",b" <sip:z@z>"#
            ]
        );
        let v: Vec<&str> = List::new("a,,b").collect();
        assert_eq!(v, ["a", "", "b"]);
    }

    #[test]
    fn params_handle_lws_quotes_and_flags() {
        let p = Params::new(r#" ; tag = 1918 ;lr; x="a;b" ;;"#);
        let v: Vec<Param<'_>> = p.iter().collect();
        assert_eq!(v.len(), 3);
        assert_eq!(p.value("TAG"), Some("1918"));
        assert!(p.has("lr"));
        assert_eq!(p.get("lr").unwrap().value, None);
        assert_eq!(p.value("x"), Some("a;b"));
        assert!(!p.is_well_formed());
        assert!(Params::new(";a=1;b").is_well_formed());
        assert!(Params::new("").is_well_formed());
    }

    #[test]
    fn name_addr_forms_are_parsed() {
        let n =
            NameAddr::parse(r#""Alice \"A\"" <sip:alice@example.com:5070;transport=tcp>;tag=88"#);
        assert_eq!(n.display_name(), Some(r#"Alice \"A\""#));
        assert_eq!(n.uri().user(), Some("alice"));
        assert_eq!(n.uri().port(), Some(5070));
        assert_eq!(n.uri().params().value("transport"), Some("tcp"));
        assert_eq!(n.tag(), Some("88"));
        assert!(n.is_well_formed() && n.is_bracketed());

        let n = NameAddr::parse("sip:+1972@gw.example.net;unknownparam;expires=60");
        assert!(!n.is_bracketed());
        assert!(n.uri().params().iter().next().is_none());
        assert!(n.params().has("unknownparam"));
        assert_eq!(n.expires(), Some(60));
        assert!(n.is_well_formed());

        let n = NameAddr::parse("caller<sip:caller@example.com>;tag=323");
        assert_eq!(n.display_name(), Some("caller"));
        assert!(n.is_well_formed());

        assert!(NameAddr::parse("*").is_star());
        assert!(!NameAddr::parse(r#""unterminated <sip:a@b>"#).is_well_formed());
        assert!(!NameAddr::parse("Bell, Alexander <sip:a@b>").is_well_formed());
        assert!(!NameAddr::parse("< sip:a@b >").is_well_formed());
        assert!(!NameAddr::parse("sip:a@b?Route=x").is_well_formed());
        assert!(!NameAddr::parse(r#""Joe" <sip:joe@example.org>;;;;"#).is_well_formed());
    }

    #[test]
    fn via_values_tolerate_lws_and_expose_parameters() {
        let v = Via::parse("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw");
        assert_eq!(
            (v.protocol(), v.version(), v.transport()),
            ("SIP", "2.0", "UDP")
        );
        assert_eq!(v.sent_by().host, Host::Ipv4([192, 0, 2, 2].into()));
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(!v.has_rfc3261_branch());
        assert!(v.is_well_formed());

        let v = Via::parse(
            "SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3;rport;received=2001:db8::9:255",
        );
        assert_eq!(v.sent_by().port, Some(6050));
        assert!(matches!(v.sent_by().host, Host::Ipv6(_)));
        assert!(v.has_rfc3261_branch() && v.has_rport() && v.rport().is_none());
        assert_eq!(v.received_addr(), "2001:db8::9:255".parse().ok());
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3;rport;received=2001:db8::9:255"
        );

        assert!(!Via::parse(";").is_well_formed());
        assert!(!Via::parse("SIP/2.0/UDP 192.0.2.15;;").is_well_formed());
        assert!(!Via::parse("").is_well_formed());
    }

    #[test]
    fn cseq_needs_a_number_lws_and_a_method() {
        let c = CSeq::parse("0009\r\n  INVITE").unwrap();
        assert_eq!((c.number, c.method), (9, Method::Invite));
        assert!(CSeq::parse("36893488147419103232 REGISTER").is_none());
        assert!(CSeq::parse("1INVITE").is_none());
        assert!(CSeq::parse("INVITE").is_none());
        assert!(!CSeq::parse("4294967295 BYE").unwrap().is_in_range());
    }

    #[test]
    fn media_types_recognise_sdp() {
        let m = MediaType::parse("Application/SDP ; charset=utf-8").unwrap();
        assert!(m.is_sdp());
        assert_eq!(m.params.value("charset"), Some("utf-8"));
        assert!(
            !MediaType::parse("multipart/mixed;boundary=x")
                .unwrap()
                .is_sdp()
        );
        assert!(MediaType::parse("garbage").is_none());
    }
}
