//! URIs (RFC 3261 §19.1 SIP and SIPS URIs, RFC 3966 tel URIs, RFC 5118 IPv6 references); other schemes
//! are kept as raw text.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::header::Params;

/// A URI scheme (RFC 3986 §3.1 `scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme<'a> {
    /// `sip` (RFC 3261 §19.1).
    Sip,
    /// `sips` (RFC 3261 §19.1).
    Sips,
    /// `tel` (RFC 3966).
    Tel,
    /// Any other scheme, as written (empty when the text has no scheme at all).
    Other(&'a str),
}

impl fmt::Display for Scheme<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        })
    }
}

/// A host (RFC 3261 §25.1 `host` = hostname / IPv4address / IPv6reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// `IPv4address`.
    Ipv4(Ipv4Addr),
    /// `IPv6reference` (`[` IPv6address `]`, RFC 5118).
    Ipv6(Ipv6Addr),
    /// `hostname`: alphanumerics, `-` and `.`.
    Domain(&'a str),
    /// Anything else, as written (an unbracketed IPv6 address, a bad IPv6 reference, empty, ...).
    Invalid(&'a str),
}

impl<'a> Host<'a> {
    /// Classifies `s`.
    pub fn parse(s: &'a str) -> Self {
        if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            return inner.parse().map_or(Host::Invalid(s), Host::Ipv6);
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return s.parse().map_or(Host::Invalid(s), Host::Ipv4);
        }
        if is_hostname(s) {
            Host::Domain(s)
        } else {
            Host::Invalid(s)
        }
    }

    /// Whether the host is valid (not [`Host::Invalid`]).
    pub fn is_valid(&self) -> bool {
        !matches!(self, Host::Invalid(_))
    }
}

/// `hostname` = *( domainlabel "." ) toplabel [ "." ] (RFC 3261 §25.1), checked loosely: labels of
/// alphanumerics and `-`, not empty.
fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
            Host::Domain(s) | Host::Invalid(s) => f.write_str(s),
        }
    }
}

/// `hostport` = host [ ":" port ] (RFC 3261 §25.1), also Via's `sent-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostPort<'a> {
    /// The host.
    pub host: Host<'a>,
    /// The port, when present and valid.
    pub port: Option<u16>,
}

impl<'a> HostPort<'a> {
    /// Reads `host [":" port]`; the flag is false when the host is invalid, or a port is present and
    /// not a 16-bit number. An unbracketed IPv6 address (RFC 5118 §4.2) is an invalid host.
    pub fn parse(s: &'a str) -> (Self, bool) {
        let (host, port) = if s.starts_with('[') {
            match s.find(']') {
                Some(i) => {
                    let (h, p) = s.split_at_checked(i.saturating_add(1)).unwrap_or((s, ""));
                    // After `]` only ":" port may follow; anything else is a bad port.
                    (
                        h,
                        Some(p)
                            .filter(|p| !p.is_empty())
                            .map(|p| p.strip_prefix(':').unwrap_or("x")),
                    )
                }
                None => (s, None),
            }
        } else {
            match s.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            }
        };
        let host = Host::parse(host);
        let (port, port_ok) = match port {
            None => (None, true),
            Some(p) => {
                let n = if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                    p.parse::<u16>().ok()
                } else {
                    None
                };
                (n, n.is_some())
            }
        };
        let ok = host.is_valid() && port_ok;
        (HostPort { host, port }, ok)
    }
}

impl fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

/// A URI (RFC 3261 §19.1.1 `SIP-URI` / `SIPS-URI`, RFC 3966 `telephone-uri`, or any `absoluteURI`
/// kept raw). Parsing never fails; [`Uri::is_well_formed`] says whether the text matched the grammar.
///
/// The password of a `userinfo` is never exposed: only [`Uri::has_password`], and `Display` masks it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Uri<'a> {
    raw: &'a str,
    scheme: Scheme<'a>,
    user: Option<&'a str>,
    password_at: Option<(usize, usize)>,
    host_port: Option<HostPort<'a>>,
    params: Params<'a>,
    headers: Option<&'a str>,
    well_formed: bool,
}

impl<'a> Uri<'a> {
    /// Reads `raw`; never fails.
    pub fn parse(raw: &'a str) -> Self {
        let mut uri = Uri {
            raw,
            scheme: Scheme::Other(""),
            user: None,
            password_at: None,
            host_port: None,
            params: Params::default(),
            headers: None,
            well_formed: false,
        };
        let Some((scheme, rest)) = raw.split_once(':') else {
            return uri;
        };
        if !is_scheme(scheme) {
            return uri;
        }
        let no_space = !raw.contains([' ', '\t', '\r', '\n', '<', '>', '"']);
        uri.scheme = if scheme.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if scheme.eq_ignore_ascii_case("tel") {
            Scheme::Tel
        } else {
            uri.well_formed = no_space && !rest.is_empty();
            uri.scheme = Scheme::Other(scheme);
            return uri;
        };
        if uri.scheme == Scheme::Tel {
            // telephone-subscriber *par: the number is the "user", parameters follow ';'.
            let (number, params) = match rest.find(';') {
                Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
                None => (rest, ""),
            };
            uri.user = Some(number);
            uri.params = Params::new(params);
            uri.well_formed = no_space
                && !number.is_empty()
                && number.bytes().all(|b| {
                    b.is_ascii_hexdigit()
                        || matches!(b, b'+' | b'-' | b'.' | b'(' | b')' | b'*' | b'#')
                })
                && uri.params.is_well_formed();
            return uri;
        }
        let prefix = scheme.len().saturating_add(1);
        // userinfo ends at the first '@': '@' must be escaped in user, password, params and headers.
        let (userinfo, hostpart) = match rest.find('@') {
            Some(at) => (
                Some(rest.get(..at).unwrap_or("")),
                rest.get(at.saturating_add(1)..).unwrap_or(""),
            ),
            None => (None, rest),
        };
        if let Some(ui) = userinfo {
            match ui.find(':') {
                Some(c) => {
                    uri.user = Some(ui.get(..c).unwrap_or(""));
                    let start = prefix.saturating_add(c).saturating_add(1);
                    uri.password_at = Some((start, prefix.saturating_add(ui.len())));
                }
                None => uri.user = Some(ui),
            }
        }
        let (before_headers, headers) = match hostpart.find('?') {
            Some(q) => (
                hostpart.get(..q).unwrap_or(""),
                Some(hostpart.get(q.saturating_add(1)..).unwrap_or("")),
            ),
            None => (hostpart, None),
        };
        uri.headers = headers;
        let (hp, params) = match before_headers.find(';') {
            Some(i) => (
                before_headers.get(..i).unwrap_or(""),
                before_headers.get(i..).unwrap_or(""),
            ),
            None => (before_headers, ""),
        };
        let (host_port, hp_ok) = HostPort::parse(hp);
        uri.host_port = Some(host_port);
        uri.params = Params::new(params);
        uri.well_formed = no_space
            && hp_ok
            && uri.user.is_none_or(|u| !u.is_empty())
            && uri.params.is_well_formed();
        uri
    }

    /// The URI as written (password included: this is the packet's own text).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme<'a> {
        self.scheme
    }

    /// The `user` of a SIP/SIPS URI (escapes kept), or the number of a tel URI.
    pub fn user(&self) -> Option<&'a str> {
        self.user
    }

    /// Whether the `userinfo` carries a password (RFC 3261 §19.1.1 advises against it).
    pub fn has_password(&self) -> bool {
        self.password_at.is_some()
    }

    /// Host and port of a SIP/SIPS URI.
    pub fn host_port(&self) -> Option<HostPort<'a>> {
        self.host_port
    }

    /// The host of a SIP/SIPS URI.
    pub fn host(&self) -> Option<Host<'a>> {
        self.host_port.map(|hp| hp.host)
    }

    /// The port of a SIP/SIPS URI, when present and valid.
    pub fn port(&self) -> Option<u16> {
        self.host_port.and_then(|hp| hp.port)
    }

    /// The `uri-parameters` (transport, user, method, ttl, maddr, lr, ...), or a tel URI's parameters.
    pub fn params(&self) -> Params<'a> {
        self.params
    }

    /// The `transport` URI parameter.
    pub fn transport(&self) -> Option<&'a str> {
        self.params.value("transport")
    }

    /// The `headers` part after `?`, as written (escapes kept).
    pub fn headers(&self) -> Option<&'a str> {
        self.headers
    }

    /// Whether the URI matched the grammar of its scheme (for other schemes: has a valid scheme, some
    /// content and no whitespace, `<`, `>` or `"`).
    pub fn is_well_formed(&self) -> bool {
        self.well_formed
    }
}

/// `scheme` = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1).
fn is_scheme(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

impl fmt::Display for Uri<'_> {
    /// The URI as written, with a password replaced by `****`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.password_at {
            Some((start, end)) => {
                let before = self.raw.get(..start).unwrap_or("");
                let after = self.raw.get(end..).unwrap_or("");
                write!(f, "{before}****{after}")
            }
            None => f.write_str(self.raw),
        }
    }
}

impl fmt::Debug for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uri")
            .field("scheme", &self.scheme)
            .field("user", &self.user)
            .field("has_password", &self.has_password())
            .field("host_port", &self.host_port)
            .field("params", &self.params)
            .field("headers", &self.headers)
            .field("well_formed", &self.well_formed)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uris_split_into_parts() {
        let u = Uri::parse("sips:alice:secret@[2001:db8::10]:5061;transport=tls;lr?subject=x");
        assert_eq!(u.scheme(), Scheme::Sips);
        assert_eq!(u.user(), Some("alice"));
        assert!(u.has_password());
        assert_eq!(u.host(), Some(Host::Ipv6("2001:db8::10".parse().unwrap())));
        assert_eq!(u.port(), Some(5061));
        assert_eq!(u.transport(), Some("tls"));
        assert!(u.params().has("lr"));
        assert_eq!(u.headers(), Some("subject=x"));
        assert!(u.is_well_formed());
        assert_eq!(
            u.to_string(),
            "sips:alice:****@[2001:db8::10]:5061;transport=tls;lr?subject=x"
        );
        assert!(!format!("{u:?}").contains("secret"));
    }

    #[test]
    fn user_part_may_hold_reserved_characters() {
        let u = Uri::parse("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user(), Some("user;par=u%40example.net"));
        assert_eq!(u.host(), Some(Host::Domain("example.com")));
        assert!(u.params().iter().next().is_none());
    }

    #[test]
    fn tel_and_unknown_schemes() {
        let u = Uri::parse("tel:+1-201-555-0123;phone-context=example.com");
        assert_eq!(u.scheme(), Scheme::Tel);
        assert_eq!(u.user(), Some("+1-201-555-0123"));
        assert_eq!(u.params().value("phone-context"), Some("example.com"));
        assert!(u.is_well_formed());
        assert_eq!(u.host(), None);

        let u = Uri::parse("soap.beep://192.0.2.103:3002");
        assert_eq!(u.scheme(), Scheme::Other("soap.beep"));
        assert!(u.is_well_formed());
        assert!(!Uri::parse("<sip:a@b>").is_well_formed());
        assert!(!Uri::parse("").is_well_formed());
        assert!(!Uri::parse("sip:").is_well_formed());
    }

    #[test]
    fn ipv6_hosts_need_brackets() {
        let (hp, ok) = HostPort::parse("[2001:db8::10:5070]");
        assert!(ok);
        assert_eq!(hp.port, None);
        assert_eq!(hp.host, Host::Ipv6("2001:db8::10:5070".parse().unwrap()));
        let (hp, ok) = HostPort::parse("2001:db8::10");
        assert!(!ok);
        assert_eq!(hp.host, Host::Invalid("2001"));
        let (hp, ok) = HostPort::parse("[2001:db8:::192.0.2.1]");
        assert!(!ok);
        assert!(matches!(hp.host, Host::Invalid(_)));
        let (hp, ok) = HostPort::parse("[::ffff:192.0.2.10]:19823");
        assert!(ok);
        assert_eq!(hp.port, Some(19823));
        assert!(!HostPort::parse("host:99999").1);
        assert!(!HostPort::parse("host:").1);
        assert!(!HostPort::parse("[::1]x").1);
        assert!(!HostPort::parse("").1);
    }
}
