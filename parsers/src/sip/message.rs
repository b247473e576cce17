//! [`Message`]: one SIP message (RFC 3261 §7), read in one pass.

use std::fmt;

use super::auth::{Challenge, Credentials};
use super::header::{CSeq, Header, Headers, MediaType, Name, NameAddr, Text, Values, Via};
use super::uri::{Scheme, Uri};
use super::{
    Anomalies, MAX_HEADERS, Method, Version, is_sip_version, is_token_str, parse_decimal, trim_lws,
};
use crate::error::{ErrorKind, Layer, ParseError};

/// The start line (RFC 3261 §7.1 `Request-Line`, §7.2 `Status-Line`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version`.
    Request {
        /// The method.
        method: Method<'a>,
        /// The Request-URI.
        uri: Uri<'a>,
        /// The version.
        version: Version<'a>,
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    Response {
        /// The version.
        version: Version<'a>,
        /// The status code (three digits).
        status: u16,
        /// The reason phrase (possibly empty, possibly not UTF-8).
        reason: Text<'a>,
    },
}

impl fmt::Display for StartLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartLine::Request {
                method,
                uri,
                version,
            } => write!(f, "{method} {uri} {version}"),
            StartLine::Response {
                version,
                status,
                reason,
            } => write!(f, "{version} {status} {reason}"),
        }
    }
}

/// One SIP message (RFC 3261 §7): spans of the buffer it was parsed from, with a fixed-size index of the
/// known header fields ([`Name`]) and the anomalies seen.
///
/// `Debug` and `Display` never print header values that can carry credentials.
#[derive(Clone)]
pub struct Message<'a> {
    start: StartLine<'a>,
    head: &'a [u8],
    head_off: usize,
    body: &'a [u8],
    body_off: usize,
    extra: &'a [u8],
    first: [Option<Header<'a>>; Name::COUNT],
    counts: [u16; Name::COUNT],
    content_length: Option<usize>,
    anomalies: Anomalies,
}

impl<'a> Message<'a> {
    /// Reads the first message of `bytes`, a datagram or a frame cut by [`super::frame`].
    ///
    /// CRLFs before the start line are skipped. The body is what follows the empty line, bounded by
    /// Content-Length when there is one (bytes past it are [`Message::extra`]), or the rest of the
    /// buffer when there is none (RFC 3261 §18.3 lets a datagram omit it).
    ///
    /// Errors ([`Layer::Udp`]) only when there is no usable start line: [`ErrorKind::Truncated`] for an
    /// empty buffer, [`ErrorKind::Invalid`] for a first line that is neither a `Request-Line` with a
    /// `token` method, a URI and a `SIP-Version`, nor a `Status-Line` with a three-digit code.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let mut anomalies = Anomalies::NONE;
        let lead = bytes
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        anomalies.set_if(lead > 0, Anomalies::LEADING_CRLF);
        let rest = bytes.get(lead..).unwrap_or(&[]);
        if rest.is_empty() {
            return Err(ParseError::new(ErrorKind::Truncated, Layer::Udp, lead));
        }

        // Start line.
        let (line, head_start) = match memchr::memchr(b'\n', rest) {
            Some(lf) => {
                let line = rest.get(..lf).unwrap_or(&[]);
                let line = match line.strip_suffix(b"\r") {
                    Some(l) => l,
                    None => {
                        anomalies.insert(Anomalies::LF_ONLY);
                        line
                    }
                };
                (line, lead.saturating_add(lf).saturating_add(1))
            }
            None => (rest, bytes.len()),
        };
        let start = parse_start_line(line, lead, &mut anomalies)?;

        // Header section: up to the empty line.
        let mut pos = head_start;
        let (head_end, body_start) = loop {
            let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) else {
                anomalies.insert(Anomalies::UNTERMINATED_HEADERS);
                break (bytes.len(), bytes.len());
            };
            let Some(lf) = memchr::memchr(b'\n', rest) else {
                anomalies.insert(Anomalies::UNTERMINATED_HEADERS);
                break (bytes.len(), bytes.len());
            };
            let line = rest.get(..lf).unwrap_or(&[]);
            let next = pos.saturating_add(lf).saturating_add(1);
            if !line.ends_with(b"\r") {
                anomalies.insert(Anomalies::LF_ONLY);
            }
            if line.is_empty() || line == b"\r" {
                break (pos, next);
            }
            pos = next;
        };
        let head = bytes.get(head_start..head_end).unwrap_or(&[]);

        // Index.
        let mut first = [None; Name::COUNT];
        let mut counts = [0u16; Name::COUNT];
        let mut it = Headers::new(head, head_start, MAX_HEADERS);
        for h in it.by_ref() {
            let utf8 = h.value.as_str().is_some();
            anomalies.set_if(!utf8, Anomalies::NON_UTF8);
            let Some(kind) = h.kind() else { continue };
            let i = kind.index();
            if let Some(c) = counts.get_mut(i) {
                *c = c.saturating_add(1);
            }
            if utf8 && let Some(slot @ None) = first.get_mut(i) {
                *slot = Some(h);
            }
        }
        anomalies.set_if(it.folded, Anomalies::FOLDED);
        anomalies.set_if(it.invalid, Anomalies::INVALID_HEADER_LINE);
        anomalies.set_if(it.clipped, Anomalies::HEADER_LIMIT);

        let mut msg = Message {
            start,
            head,
            head_off: head_start,
            body: &[],
            body_off: body_start,
            extra: &[],
            first,
            counts,
            content_length: None,
            anomalies,
        };

        // Content-Length and body.
        let mut declared: Option<Option<usize>> = None;
        for h in msg.headers_named(Name::ContentLength) {
            let v = h.value.as_str().and_then(|s| parse_decimal(trim_lws(s)));
            match declared {
                None => declared = Some(v),
                Some(prev) => {
                    msg.anomalies.insert(Anomalies::DUPLICATE_CONTENT_LENGTH);
                    msg.anomalies
                        .set_if(prev != v, Anomalies::CONTENT_LENGTH_MISMATCH);
                }
            }
        }
        msg.anomalies.set_if(
            matches!(declared, Some(None)),
            Anomalies::BAD_CONTENT_LENGTH,
        );
        msg.content_length = declared.flatten();
        let available = bytes.get(body_start..).unwrap_or(&[]);
        match msg.content_length {
            Some(cl) if cl > available.len() => {
                msg.anomalies.insert(Anomalies::BODY_TRUNCATED);
                msg.body = available;
            }
            Some(cl) => {
                let (body, extra) = available.split_at_checked(cl).unwrap_or((available, &[]));
                msg.body = body;
                msg.extra = extra;
                msg.anomalies
                    .set_if(!extra.is_empty(), Anomalies::BODY_EXTRA);
            }
            None => msg.body = available,
        }

        msg.check();
        Ok(msg)
    }

    /// Records the anomalies that need the structured values.
    fn check(&mut self) {
        let mut a = self.anomalies;
        let count = |n: Name| self.header_count(n);
        a.set_if(
            [Name::Via, Name::From, Name::To, Name::CallId, Name::CSeq]
                .iter()
                .any(|&n| count(n) == 0),
            Anomalies::MISSING_MANDATORY,
        );
        a.set_if(
            [
                Name::From,
                Name::To,
                Name::CallId,
                Name::CSeq,
                Name::MaxForwards,
                Name::ContentType,
            ]
            .iter()
            .any(|&n| count(n) > 1),
            Anomalies::DUPLICATE_SINGLE_HEADER,
        );
        if count(Name::CSeq) > 0 {
            match self.cseq() {
                None => a.insert(Anomalies::BAD_CSEQ),
                Some(c) => {
                    a.set_if(!c.is_in_range(), Anomalies::BAD_CSEQ);
                    if let Some(m) = self.method() {
                        a.set_if(
                            m.as_str() != c.method.as_str(),
                            Anomalies::CSEQ_METHOD_MISMATCH,
                        );
                    }
                }
            }
        }
        if count(Name::MaxForwards) > 0 {
            a.set_if(self.max_forwards().is_none(), Anomalies::BAD_MAX_FORWARDS);
        }
        if count(Name::Expires) > 0 {
            a.set_if(self.expires().is_none(), Anomalies::BAD_EXPIRES);
        }
        if let Some(d) = self.first_str(Name::Date) {
            a.set_if(!trim_lws(d).ends_with("GMT"), Anomalies::BAD_DATE);
        }
        for v in self.values(Name::Via) {
            a.set_if(
                v.is_empty() || !Via::parse(v).is_well_formed(),
                Anomalies::BAD_VIA,
            );
        }
        for n in [Name::From, Name::To] {
            if let Some(v) = self.first_str(n) {
                a.set_if(
                    !NameAddr::parse(v).is_well_formed(),
                    Anomalies::BAD_NAME_ADDR,
                );
            }
        }
        for n in [Name::Contact, Name::Route, Name::RecordRoute] {
            for v in self.values(n) {
                let na = NameAddr::parse(v);
                a.set_if(
                    v.is_empty() || !na.is_well_formed(),
                    Anomalies::BAD_NAME_ADDR,
                );
                if n == Name::Contact && na.params().has("expires") {
                    a.set_if(na.expires().is_none(), Anomalies::BAD_EXPIRES);
                }
            }
        }
        self.anomalies = a;
    }

    /// The start line.
    pub fn start_line(&self) -> &StartLine<'a> {
        &self.start
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        matches!(self.start, StartLine::Response { .. })
    }

    /// The method of a request.
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<Uri<'a>> {
        match self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    /// The start line's version.
    pub fn version(&self) -> Version<'a> {
        match self.start {
            StartLine::Request { version, .. } | StartLine::Response { version, .. } => version,
        }
    }

    /// Every header field, in order (at most [`MAX_HEADERS`]), lazily.
    pub fn headers(&self) -> Headers<'a> {
        Headers::new(self.head, self.head_off, MAX_HEADERS)
    }

    /// The header section as it is in the packet (start line and empty line excluded).
    pub fn head(&self) -> &'a [u8] {
        self.head
    }

    /// The first field of a known name whose value is UTF-8.
    pub fn header(&self, name: Name) -> Option<Header<'a>> {
        self.first.get(name.index()).copied().flatten()
    }

    /// The first field named `name` (case-insensitive; compact forms of known names match).
    pub fn header_by_name(&self, name: &str) -> Option<Header<'a>> {
        match Name::lookup(name) {
            Some(n) => self.header(n),
            None => self.headers().find(|h| h.name.eq_ignore_ascii_case(name)),
        }
    }

    /// How many fields of a known name there are (long and compact forms together).
    pub fn header_count(&self, name: Name) -> usize {
        usize::from(self.counts.get(name.index()).copied().unwrap_or(0))
    }

    /// Every field of a known name, in order.
    pub fn headers_named(&self, name: Name) -> impl Iterator<Item = Header<'a>> + use<'a> {
        self.headers_from(name)
            .filter(move |h| h.kind() == Some(name))
    }

    /// The header iterator, started at the first field of `name` when it is indexed. When the index counted
    /// a single field of that name, the iterator stops after it: no scan of the rest of the header section.
    fn headers_from(&self, name: Name) -> Headers<'a> {
        match self.header(name) {
            Some(h) if self.header_count(name) == 1 => {
                Headers::new(self.head, self.head_off, 1).starting_at(h.offset)
            }
            Some(h) => self.headers().starting_at(h.offset),
            None => self.headers(),
        }
    }

    /// The comma-separated values of every field of `name`, in order, LWS-trimmed (RFC 3261 §7.3.1).
    pub fn values(&self, name: Name) -> impl Iterator<Item = &'a str> + use<'a> {
        Values::new(self.headers_from(name), name)
    }

    fn first_str(&self, name: Name) -> Option<&'a str> {
        self.header(name).and_then(|h| h.value.as_str())
    }

    /// Every Via value, top first (RFC 3261 §20.42).
    pub fn vias(&self) -> impl Iterator<Item = Via<'a>> + use<'a> {
        self.values(Name::Via).map(Via::parse)
    }

    /// The topmost Via value: the one that identifies the transaction (RFC 3261 §17.2.3).
    pub fn via_top(&self) -> Option<Via<'a>> {
        self.vias().next()
    }

    /// How many Via values there are, over all Via fields.
    pub fn via_count(&self) -> usize {
        self.values(Name::Via).count()
    }

    /// From (RFC 3261 §20.20).
    pub fn from(&self) -> Option<NameAddr<'a>> {
        self.first_str(Name::From).map(NameAddr::parse)
    }

    /// To (RFC 3261 §20.39).
    pub fn to(&self) -> Option<NameAddr<'a>> {
        self.first_str(Name::To).map(NameAddr::parse)
    }

    /// Call-ID (RFC 3261 §20.8), LWS-trimmed.
    pub fn call_id(&self) -> Option<&'a str> {
        self.first_str(Name::CallId).map(trim_lws)
    }

    /// CSeq (RFC 3261 §20.16), when it parses.
    pub fn cseq(&self) -> Option<CSeq<'a>> {
        self.first_str(Name::CSeq).and_then(CSeq::parse)
    }

    /// The first Contact value (RFC 3261 §20.10).
    pub fn contact(&self) -> Option<NameAddr<'a>> {
        self.contacts().next()
    }

    /// Every Contact value, in order.
    pub fn contacts(&self) -> impl Iterator<Item = NameAddr<'a>> + use<'a> {
        self.values(Name::Contact).map(NameAddr::parse)
    }

    /// Every Route value, in order (RFC 3261 §20.34).
    pub fn routes(&self) -> impl Iterator<Item = NameAddr<'a>> + use<'a> {
        self.values(Name::Route).map(NameAddr::parse)
    }

    /// Every Record-Route value, in order (RFC 3261 §20.30).
    pub fn record_routes(&self) -> impl Iterator<Item = NameAddr<'a>> + use<'a> {
        self.values(Name::RecordRoute).map(NameAddr::parse)
    }

    /// Max-Forwards (RFC 3261 §20.22), when it is `1*DIGIT` in 0..=255.
    pub fn max_forwards(&self) -> Option<u8> {
        self.first_str(Name::MaxForwards)
            .and_then(|s| parse_decimal(trim_lws(s)))
            .and_then(|n| u8::try_from(n).ok())
    }

    /// Content-Length (RFC 3261 §20.14) of the first field, when it is a number.
    pub fn content_length(&self) -> Option<usize> {
        self.content_length
    }

    /// Content-Type (RFC 3261 §20.15).
    pub fn content_type(&self) -> Option<MediaType<'a>> {
        self.first_str(Name::ContentType)
            .and_then(|s| MediaType::parse(trim_lws(s)))
    }

    /// Whether the body is declared as `application/sdp`.
    pub fn is_sdp(&self) -> bool {
        self.content_type().is_some_and(|c| c.is_sdp())
    }

    /// User-Agent (RFC 3261 §20.41), as written (folding kept).
    pub fn user_agent(&self) -> Option<&'a str> {
        self.first_str(Name::UserAgent)
    }

    /// Server (RFC 3261 §20.35), as written (folding kept).
    pub fn server(&self) -> Option<&'a str> {
        self.first_str(Name::Server)
    }

    /// Expires (RFC 3261 §20.19), when it is a 32-bit `delta-seconds`.
    pub fn expires(&self) -> Option<u32> {
        self.first_str(Name::Expires)
            .map(trim_lws)
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
    }

    /// Credentials of the first Authorization field (RFC 3261 §20.7).
    pub fn authorization(&self) -> Option<Credentials<'a>> {
        self.first_str(Name::Authorization).map(Credentials::parse)
    }

    /// Credentials of the first Proxy-Authorization field (RFC 3261 §20.28).
    pub fn proxy_authorization(&self) -> Option<Credentials<'a>> {
        self.first_str(Name::ProxyAuthorization)
            .map(Credentials::parse)
    }

    /// The first WWW-Authenticate challenge (RFC 3261 §20.44).
    pub fn www_authenticate(&self) -> Option<Challenge<'a>> {
        self.first_str(Name::WwwAuthenticate).map(Challenge::parse)
    }

    /// The first Proxy-Authenticate challenge (RFC 3261 §20.27).
    pub fn proxy_authenticate(&self) -> Option<Challenge<'a>> {
        self.first_str(Name::ProxyAuthenticate)
            .map(Challenge::parse)
    }

    /// Every P-Asserted-Identity value (RFC 3325 §9.1: at most one SIP/SIPS and one tel URI).
    pub fn p_asserted_identities(&self) -> impl Iterator<Item = NameAddr<'a>> + use<'a> {
        self.values(Name::PAssertedIdentity).map(NameAddr::parse)
    }

    /// The Identity field (RFC 8224 §4), as written.
    pub fn identity(&self) -> Option<&'a str> {
        self.first_str(Name::Identity).map(trim_lws)
    }

    /// The body: after the empty line, bounded by Content-Length.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Offset of the body from the start of the buffer.
    pub fn body_offset(&self) -> usize {
        self.body_off
    }

    /// Bytes after the declared body (another message in the same datagram, or padding).
    pub fn extra(&self) -> &'a [u8] {
        self.extra
    }

    /// The anomalies seen.
    pub fn anomalies(&self) -> Anomalies {
        self.anomalies
    }
}

impl fmt::Display for Message<'_> {
    /// One line: the start line, Call-ID, CSeq, the number of Vias, the body length and the anomalies.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.start)?;
        if let Some(c) = self.call_id() {
            write!(f, " call-id={c}")?;
        }
        if let Some(c) = self.cseq() {
            write!(f, " cseq=\"{c}\"")?;
        }
        write!(
            f,
            " vias={} body={}B anomalies={}",
            self.via_count(),
            self.body.len(),
            self.anomalies
        )
    }
}

impl fmt::Debug for Message<'_> {
    /// The start line and the index, without header values (they can carry credentials).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Counts<'m>(&'m [u16; Name::COUNT]);
        impl fmt::Debug for Counts<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(
                        Name::ALL
                            .iter()
                            .zip(self.0.iter())
                            .filter(|(_, c)| **c > 0)
                            .map(|(n, c)| (n.as_str(), c)),
                    )
                    .finish()
            }
        }
        f.debug_struct("Message")
            .field("start", &self.start)
            .field("headers", &Counts(&self.counts))
            .field("content_length", &self.content_length)
            .field("body_len", &self.body.len())
            .field("extra_len", &self.extra.len())
            .field("anomalies", &self.anomalies)
            .finish()
    }
}

/// Reads a start line (without its line end); `off` is its offset in the buffer.
fn parse_start_line<'a>(
    line: &'a [u8],
    off: usize,
    anomalies: &mut Anomalies,
) -> Result<StartLine<'a>, ParseError> {
    let invalid =
        |at: usize| ParseError::new(ErrorKind::Invalid, Layer::Udp, off.saturating_add(at));
    let is_response = line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"));
    if is_response {
        let sp = memchr::memchr(b' ', line).ok_or_else(|| invalid(0))?;
        let version = line
            .get(..sp)
            .and_then(|v| std::str::from_utf8(v).ok())
            .filter(|v| is_sip_version(v))
            .ok_or_else(|| invalid(0))?;
        let version = Version(version);
        anomalies.set_if(!version.is_sip_2_0(), Anomalies::UNKNOWN_VERSION);
        let mut rest = line.get(sp.saturating_add(1)..).unwrap_or(&[]);
        let code_at = sp.saturating_add(1);
        if rest.first() == Some(&b' ') {
            anomalies.insert(Anomalies::START_LINE_WHITESPACE);
            rest = rest.trim_ascii_start();
        }
        let code = rest.get(..3).ok_or_else(|| invalid(code_at))?;
        if !code.iter().all(u8::is_ascii_digit) {
            return Err(invalid(code_at));
        }
        let status = code
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d.saturating_sub(b'0')));
        let reason = match rest.get(3) {
            None => {
                // No SP before the (empty) reason phrase.
                anomalies.insert(Anomalies::START_LINE_WHITESPACE);
                &[][..]
            }
            Some(b' ') => rest.get(4..).unwrap_or(&[]),
            // More digits: an overlarge code (RFC 4475 §3.1.2.19), or junk.
            Some(_) => return Err(invalid(code_at)),
        };
        anomalies.set_if(std::str::from_utf8(reason).is_err(), Anomalies::NON_UTF8);
        return Ok(StartLine::Response {
            version,
            status,
            reason: Text::new(reason),
        });
    }

    let text = std::str::from_utf8(line).map_err(|e| invalid(e.valid_up_to()))?;
    let trimmed = text.trim_end_matches([' ', '\t']);
    anomalies.set_if(
        trimmed.len() != text.len(),
        Anomalies::START_LINE_WHITESPACE,
    );
    let (method, rest) = trimmed.split_once(' ').ok_or_else(|| invalid(0))?;
    if !is_token_str(method) {
        return Err(invalid(0));
    }
    let (middle, version) = rest.rsplit_once(' ').ok_or_else(|| invalid(method.len()))?;
    if !is_sip_version(version) {
        return Err(invalid(trimmed.len().saturating_sub(version.len())));
    }
    let version = Version(version);
    anomalies.set_if(!version.is_sip_2_0(), Anomalies::UNKNOWN_VERSION);
    let uri_text = middle.trim_matches([' ', '\t']);
    if uri_text.is_empty() {
        return Err(invalid(method.len().saturating_add(1)));
    }
    anomalies.set_if(
        uri_text.len() != middle.len(),
        Anomalies::START_LINE_WHITESPACE,
    );
    let uri = Uri::parse(uri_text);
    let headers_in_sip_uri =
        matches!(uri.scheme(), Scheme::Sip | Scheme::Sips) && uri.headers().is_some();
    anomalies.set_if(
        !uri.is_well_formed() || headers_in_sip_uri,
        Anomalies::BAD_REQUEST_URI,
    );
    Ok(StartLine::Request {
        method: Method::parse(method),
        uri,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{Host, frame, is_keepalive};

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9, SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK2;received=192.0.2.9\r\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\r\n\
Max-Forwards: 70\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 2 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com;transport=tcp>;expires=3600, \"Al, B\" <sip:al@b.example.com>;q=0.5\r\n\
Proxy-Authorization: Digest username=\"alice\", realm=\"atlanta.example.com\", nonce=\"wf84f1ceczx41ae6cbe5aea9c8e88d359\", opaque=\"\", uri=\"sip:bob@biloxi.example.com\", response=\"42ce3cef44b22f50c6a6071bc8\"\r\n\
User-Agent: Acme/1.0\r\n\
Expires: 120\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

    /// What working but sloppy stacks send, and the anomaly each shows: `malformed-sip` leaves these out of
    /// its defaults because of them (rules/src/detectors/malformed_sip.rs, `DEFAULT_ANOMALIES`).
    #[test]
    fn sloppy_working_stacks_show_syntax_anomalies_only() {
        let msg = |ruri: &str, via_host: &str, from: &[u8]| {
            let mut m = format!(
                "INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP {via_host}:5060;branch=z9hG4bK1\r\nFrom: "
            )
            .into_bytes();
            m.extend_from_slice(from);
            m.extend_from_slice(
                b"\r\nTo: <sip:b@y>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            );
            m
        };
        let anomalies = |m: Vec<u8>| Message::parse(&m).unwrap().anomalies();
        let clean = msg("sip:b@y", "10.0.0.1", b"<sip:a@x>;tag=1");
        assert_eq!(anomalies(clean), Anomalies::NONE);
        // A Docker service name as the PBX's host: `_` is no host name character.
        assert_eq!(
            anomalies(msg("sip:1001@my_pbx", "10.0.0.1", b"<sip:a@x>;tag=1")),
            Anomalies::BAD_REQUEST_URI
        );
        assert_eq!(
            anomalies(msg("sip:b@y", "my_pbx", b"<sip:a@x>;tag=1")),
            Anomalies::BAD_VIA
        );
        // Unquoted display names with `@` or non-ASCII letters, a trailing `;`.
        for from in [
            &b"John.Doe@home <sip:a@x>;tag=1"[..],
            "M\u{fc}ller <sip:a@x>;tag=1".as_bytes(),
            b"<sip:a@x>;tag=1;",
        ] {
            assert_eq!(
                anomalies(msg("sip:b@y", "10.0.0.1", from)),
                Anomalies::BAD_NAME_ADDR
            );
        }
        // A Latin-1 display name.
        assert_eq!(
            anomalies(msg("sip:b@y", "10.0.0.1", b"\"M\xfcller\" <sip:a@x>;tag=1")),
            Anomalies::NON_UTF8
        );
    }

    #[test]
    fn a_well_formed_invite_is_fully_indexed() {
        let m = Message::parse(INVITE).unwrap();
        assert_eq!(m.anomalies(), Anomalies::NONE, "{m}");
        assert_eq!(m.method(), Some(Method::Invite));
        let uri = m.request_uri().unwrap();
        assert_eq!(uri.user(), Some("bob"));
        assert_eq!(uri.host(), Some(Host::Domain("biloxi.example.com")));
        assert_eq!(m.via_count(), 3);
        assert_eq!(m.header_count(Name::Via), 2);
        let top = m.via_top().unwrap();
        assert_eq!(top.transport(), "TCP");
        assert_eq!(top.branch(), Some("z9hG4bK74bf9"));
        assert_eq!(top.sent_by().port, Some(5060));
        let second = m.vias().nth(1).unwrap();
        assert_eq!(
            second.sent_by().host,
            Host::Ipv6("2001:db8::1".parse().unwrap())
        );
        assert_eq!(second.received(), Some("192.0.2.9"));
        assert_eq!(m.from().unwrap().tag(), Some("9fxced76sl"));
        assert_eq!(m.from().unwrap().display_name(), Some("Alice"));
        assert_eq!(m.to().unwrap().tag(), None);
        assert_eq!(m.call_id(), Some("3848276298220188511@atlanta.example.com"));
        assert_eq!(m.cseq().unwrap().number, 2);
        assert_eq!(m.max_forwards(), Some(70));
        assert_eq!(m.contact().unwrap().expires(), Some(3600));
        assert_eq!(m.contacts().count(), 2);
        assert_eq!(m.contacts().nth(1).unwrap().display_name(), Some("Al, B"));
        assert_eq!(m.contacts().nth(1).unwrap().q(), Some("0.5"));
        let pa = m.proxy_authorization().unwrap();
        assert_eq!(pa.username(), Some("alice"));
        assert!(pa.has_response());
        assert_eq!(m.user_agent(), Some("Acme/1.0"));
        assert_eq!(m.expires(), Some(120));
        assert!(m.is_sdp());
        assert_eq!(m.body(), b"v=0\n");
        assert_eq!(m.headers().count(), 13);
        let dbg = format!("{m:?}");
        let disp = m.to_string();
        let hdrs: String = m.headers().map(|h| format!("{h} {h:?}\n")).collect();
        for s in [&dbg, &disp, &hdrs] {
            assert!(!s.contains("42ce3cef44b22f50c6a6071bc8"), "{s}");
        }
        assert_eq!(
            disp,
            "INVITE sip:bob@biloxi.example.com SIP/2.0 call-id=3848276298220188511@atlanta.example.com cseq=\"2 INVITE\" vias=3 body=4B anomalies=none"
        );
    }

    #[test]
    fn compact_form_headers_are_indexed() {
        let m = Message::parse(
            b"BYE sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>;tag=2\r\ni: cid\r\nCSeq: 3 BYE\r\nl: 0\r\nm: <sip:a@h>\r\nc: text/plain\r\ne: gzip\r\ns: hi\r\nk: 100rel\r\no: presence\r\nr: <sip:c@h>\r\nb: <sip:d@h>\r\nx: 1800\r\ny: abc\r\n\r\n",
        )
        .unwrap();
        assert_eq!(m.anomalies(), Anomalies::NONE);
        assert_eq!(m.call_id(), Some("cid"));
        assert_eq!(m.content_length(), Some(0));
        assert_eq!(m.identity(), Some("abc"));
        for n in [
            Name::ContentEncoding,
            Name::Subject,
            Name::Supported,
            Name::Event,
            Name::ReferTo,
            Name::ReferredBy,
            Name::SessionExpires,
            Name::Contact,
        ] {
            assert_eq!(m.header_count(n), 1, "{n}");
        }
        assert_eq!(
            m.header_by_name("Session-Expires").unwrap().value.as_str(),
            Some("1800")
        );
        assert_eq!(m.header_by_name("x").unwrap().name, "x");
    }

    #[test]
    fn folded_values_are_flagged_and_unfolded() {
        let m = Message::parse(
            b"OPTIONS sip:a@h SIP/2.0\r\nSubject: I know you're there,\r\n pick up the phone\r\n   and talk to me!\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
        )
        .unwrap();
        assert_eq!(m.anomalies(), Anomalies::FOLDED);
        let s = m.header(Name::Subject).unwrap();
        assert!(s.value.is_folded());
        assert_eq!(
            s.value.to_string(),
            "I know you're there, pick up the phone and talk to me!"
        );
        assert_eq!(s.value.segments().count(), 3);
    }

    #[test]
    fn bare_lf_and_missing_mandatory_headers_are_flagged() {
        let m = Message::parse(b"SIP/2.0 200 OK\nCall-ID: x\n\nbody").unwrap();
        assert!(
            m.anomalies()
                .contains(Anomalies::LF_ONLY | Anomalies::MISSING_MANDATORY)
        );
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.body(), b"body");
    }

    #[test]
    fn header_count_is_clipped_at_the_limit() {
        let mut buf = b"OPTIONS sip:a@h SIP/2.0\r\n".to_vec();
        for i in 0..MAX_HEADERS + 5 {
            buf.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        buf.extend_from_slice(b"Content-Length: 2\r\n\r\nhi");
        let m = Message::parse(&buf).unwrap();
        assert!(m.anomalies().contains(Anomalies::HEADER_LIMIT));
        assert_eq!(m.headers().count(), MAX_HEADERS);
        assert_eq!(m.body(), b"hi");
    }

    #[test]
    fn non_utf8_values_are_iterated_but_not_indexed() {
        let m =
            Message::parse(b"SIP/2.0 486 Busy \xe9t\xe9\r\nUser-Agent: caf\xe9\r\n\r\n").unwrap();
        assert!(m.anomalies().contains(Anomalies::NON_UTF8));
        assert_eq!(m.user_agent(), None);
        assert_eq!(m.header_count(Name::UserAgent), 1);
        assert_eq!(m.headers().next().unwrap().value.as_bytes(), b"caf\xe9");
        assert!(
            m.to_string()
                .starts_with("SIP/2.0 486 Busy \u{FFFD}t\u{FFFD}")
        );
    }

    #[test]
    fn tel_uris_and_unknown_methods_are_kept() {
        let m =
            Message::parse(b"FROBNICATE tel:+1-201-555-0123 SIP/2.0\r\nCSeq: 1 FROBNICATE\r\n\r\n")
                .unwrap();
        assert_eq!(m.method(), Some(Method::Other("FROBNICATE")));
        assert_eq!(m.request_uri().unwrap().user(), Some("+1-201-555-0123"));
        assert!(!m.anomalies().contains(Anomalies::CSEQ_METHOD_MISMATCH));
    }

    #[test]
    fn no_start_line_is_an_error() {
        for (input, kind, offset) in [
            (&b""[..], ErrorKind::Truncated, 0),
            (b"\r\n\r\n", ErrorKind::Truncated, 4),
            (b"GET / HTTP/1.1\r\n\r\n", ErrorKind::Invalid, 6),
            (b"INVITE\r\n\r\n", ErrorKind::Invalid, 0),
            (b"INVITE  SIP/2.0\r\n", ErrorKind::Invalid, 7),
            (b"IN<VITE sip:a@b SIP/2.0\r\n", ErrorKind::Invalid, 0),
            (b"SIP/2.0 4294967301 big\r\n", ErrorKind::Invalid, 8),
            (b"SIP/2.0 20 OK\r\n", ErrorKind::Invalid, 8),
            (b"SIP/2.0\r\n", ErrorKind::Invalid, 0),
        ] {
            let e = Message::parse(input).unwrap_err();
            assert_eq!(
                (e.kind, e.offset),
                (kind, offset),
                "{:?}",
                input.escape_ascii().to_string()
            );
            assert_eq!(e.layer, Layer::Udp);
        }
    }

    #[test]
    fn frame_splits_a_stream_into_messages() {
        let one = b"OPTIONS sip:a@h SIP/2.0\r\nContent-Length: 5\r\n\r\nhello";
        let two = b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n";
        let mut stream = Vec::new();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(one);
        stream.extend_from_slice(two);
        stream.extend_from_slice(b"\r\n");
        let mut rest = &stream[..];
        let mut frames = Vec::new();
        while !rest.is_empty() {
            let n = frame(rest).unwrap();
            frames.push(&rest[..n]);
            rest = &rest[n..];
        }
        assert_eq!(frames.len(), 4);
        assert!(is_keepalive(frames[0]) && is_keepalive(frames[3]));
        assert_eq!(frames[1], one);
        assert_eq!(frames[2], two);
        assert_eq!(Message::parse(frames[1]).unwrap().body(), b"hello");
        assert_eq!(
            Message::parse(frames[2]).unwrap().anomalies(),
            Anomalies::MISSING_MANDATORY
        );
    }

    #[test]
    fn frame_waits_for_the_rest_of_a_message() {
        let msg = b"OPTIONS sip:a@h SIP/2.0\r\nContent-Length: 5\r\n\r\nhello";
        let head = msg.len() - 5;
        for cut in 0..msg.len() {
            match frame(&msg[..cut]) {
                Err(ParseError {
                    kind: ErrorKind::Incomplete { needed },
                    layer: Layer::Tcp,
                    ..
                }) => {
                    assert!(needed >= 1);
                    assert!(cut + needed <= msg.len(), "cut {cut} needed {needed}");
                    if cut >= head {
                        assert_eq!(cut + needed, msg.len());
                    }
                }
                Ok(0) if cut == 0 => {}
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        assert_eq!(frame(msg), Ok(msg.len()));
        assert_eq!(
            frame(b"\r"),
            Err(ParseError::new(
                ErrorKind::Incomplete { needed: 1 },
                Layer::Tcp,
                0
            ))
        );
        assert_eq!(frame(b"\r\n\r"), Ok(2));
    }

    #[test]
    fn frame_rejects_bad_or_conflicting_lengths() {
        let e = frame(b"OPTIONS sip:a@h SIP/2.0\r\nl: -1\r\n\r\n").unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 25));
        let e =
            frame(b"OPTIONS sip:a@h SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab").unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Invalid, 31));
        assert_eq!(
            frame(b"OPTIONS sip:a@h SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nab"),
            Ok(54)
        );
        let e = frame(b"OPTIONS sip:a@h SIP/2.0\r\nl: 99999999\r\n\r\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::LimitExceeded);
        let big = vec![b'a'; crate::sip::MAX_MESSAGE_LEN + 1];
        assert_eq!(frame(&big).unwrap_err().kind, ErrorKind::LimitExceeded);
    }
}
