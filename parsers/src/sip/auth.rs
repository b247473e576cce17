//! Authentication header fields: credentials in Authorization / Proxy-Authorization (RFC 3261 §20.7,
//! §20.28; Digest per RFC 2617, RFC 7616 and RFC 8760) and challenges in WWW-Authenticate /
//! Proxy-Authenticate (RFC 3261 §20.44, §20.27).
//!
//! The digest `response` is a password-equivalent for offline cracking: no accessor returns it, the
//! parameter iterator skips it, and `Debug` / `Display` print `<redacted>` in its place.

use std::fmt;

use super::header::{split_top_level, unquote};
use super::{is_token, trim_lws};

/// One `auth-param` (RFC 3261 §25.1): `auth-param-name EQUAL ( token / quoted-string )`, the value
/// unquoted (escapes kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthParam<'a> {
    /// The parameter name as written.
    pub name: &'a str,
    /// The value, without surrounding quotes.
    pub value: &'a str,
}

/// The comma-separated `auth-param`s after the scheme, read lazily. The digest `response` parameter is
/// never yielded.
#[derive(Debug, Clone)]
pub struct AuthParams<'a> {
    rest: Option<&'a str>,
}

impl<'a> AuthParams<'a> {
    fn all(raw: &'a str) -> AllParams<'a> {
        AllParams { rest: Some(raw) }
    }
}

impl<'a> Iterator for AuthParams<'a> {
    type Item = AuthParam<'a>;
    fn next(&mut self) -> Option<AuthParam<'a>> {
        let mut all = AllParams { rest: self.rest };
        let p = all.find(|p| !p.name.eq_ignore_ascii_case("response"));
        self.rest = all.rest;
        p
    }
}

/// Every auth-param, `response` included (private).
struct AllParams<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for AllParams<'a> {
    type Item = AuthParam<'a>;
    fn next(&mut self) -> Option<AuthParam<'a>> {
        loop {
            let s = self.rest?;
            let (item, rest) = split_top_level(s, b',');
            self.rest = rest;
            let Some((name, value)) = item.split_once('=') else {
                continue;
            };
            let name = trim_lws(name);
            if name.is_empty() || !name.bytes().all(is_token) {
                continue;
            }
            return Some(AuthParam {
                name,
                value: unquote(trim_lws(value)),
            });
        }
    }
}

/// Splits `auth-scheme LWS params`.
fn split_scheme(s: &str) -> (&str, &str) {
    let s = trim_lws(s);
    let end = s.bytes().position(|b| !is_token(b)).unwrap_or(s.len());
    let (scheme, rest) = s.split_at_checked(end).unwrap_or((s, ""));
    (scheme, trim_lws(rest))
}

/// Credentials of an Authorization or Proxy-Authorization field (RFC 3261 §20.7 `credentials`).
///
/// Any scheme is kept (RFC 4475 §3.3.7 uses an unknown one); the Digest accessors read the parameters
/// of RFC 2617 §3.2.2 / RFC 7616 §3.4. There is no accessor for `response`: see [`Credentials::has_response`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    scheme: &'a str,
    params: &'a str,
}

impl<'a> Credentials<'a> {
    /// Reads `auth-scheme LWS auth-params`; never fails.
    pub fn parse(value: &'a str) -> Self {
        let (scheme, params) = split_scheme(value);
        Credentials { scheme, params }
    }

    /// The scheme as written, e.g. `Digest`.
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// Whether the scheme is Digest (case-insensitive).
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }

    /// The parameters, without `response`.
    pub fn params(&self) -> AuthParams<'a> {
        AuthParams {
            rest: Some(self.params),
        }
    }

    fn param(&self, name: &str) -> Option<&'a str> {
        self.params()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value)
    }

    /// `username`.
    pub fn username(&self) -> Option<&'a str> {
        self.param("username")
    }

    /// `realm`.
    pub fn realm(&self) -> Option<&'a str> {
        self.param("realm")
    }

    /// `nonce`.
    pub fn nonce(&self) -> Option<&'a str> {
        self.param("nonce")
    }

    /// `uri` (the digest-uri).
    pub fn uri(&self) -> Option<&'a str> {
        self.param("uri")
    }

    /// `algorithm` (MD5 when absent, RFC 2617 §3.2.1; SHA-256 and SHA-512-256 per RFC 8760).
    pub fn algorithm(&self) -> Option<&'a str> {
        self.param("algorithm")
    }

    /// `qop`.
    pub fn qop(&self) -> Option<&'a str> {
        self.param("qop")
    }

    /// `nc` (nonce count), as written.
    pub fn nc(&self) -> Option<&'a str> {
        self.param("nc")
    }

    /// `cnonce`.
    pub fn cnonce(&self) -> Option<&'a str> {
        self.param("cnonce")
    }

    /// `opaque`.
    pub fn opaque(&self) -> Option<&'a str> {
        self.param("opaque")
    }

    /// Whether a `response` parameter is present (its value is never exposed).
    pub fn has_response(&self) -> bool {
        AuthParams::all(self.params).any(|p| p.name.eq_ignore_ascii_case("response"))
    }
}

impl fmt::Display for Credentials<'_> {
    /// `Scheme name="value" ...` with `response=<redacted>` in place of the response.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme)?;
        for p in AuthParams::all(self.params) {
            if p.name.eq_ignore_ascii_case("response") {
                write!(f, " {}=<redacted>", p.name)?;
            } else {
                write!(f, " {}=\"{}\"", p.name, p.value)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Credentials");
        d.field("scheme", &self.scheme);
        for p in AuthParams::all(self.params) {
            if p.name.eq_ignore_ascii_case("response") {
                d.field("response", &format_args!("<redacted>"));
            } else {
                d.field(p.name, &p.value);
            }
        }
        d.finish()
    }
}

/// A challenge of a WWW-Authenticate or Proxy-Authenticate field (RFC 3261 §20.44 `challenge`; Digest
/// parameters per RFC 2617 §3.2.1 / RFC 7616 §3.3).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Challenge<'a> {
    scheme: &'a str,
    params: &'a str,
}

impl<'a> Challenge<'a> {
    /// Reads `auth-scheme LWS auth-params`; never fails.
    pub fn parse(value: &'a str) -> Self {
        let (scheme, params) = split_scheme(value);
        Challenge { scheme, params }
    }

    /// The scheme as written.
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// Whether the scheme is Digest (case-insensitive).
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }

    /// The parameters.
    pub fn params(&self) -> AuthParams<'a> {
        AuthParams {
            rest: Some(self.params),
        }
    }

    fn param(&self, name: &str) -> Option<&'a str> {
        self.params()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value)
    }

    /// `realm`.
    pub fn realm(&self) -> Option<&'a str> {
        self.param("realm")
    }

    /// `nonce`.
    pub fn nonce(&self) -> Option<&'a str> {
        self.param("nonce")
    }

    /// `algorithm`.
    pub fn algorithm(&self) -> Option<&'a str> {
        self.param("algorithm")
    }

    /// `qop` options, as written (e.g. `auth,auth-int`).
    pub fn qop(&self) -> Option<&'a str> {
        self.param("qop")
    }

    /// `opaque`.
    pub fn opaque(&self) -> Option<&'a str> {
        self.param("opaque")
    }

    /// `domain`.
    pub fn domain(&self) -> Option<&'a str> {
        self.param("domain")
    }

    /// Whether `stale=true` (case-insensitive): the nonce expired, the credentials were right.
    pub fn stale(&self) -> bool {
        self.param("stale")
            .is_some_and(|s| s.eq_ignore_ascii_case("true"))
    }
}

impl fmt::Display for Challenge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme)?;
        for p in self.params() {
            write!(f, " {}=\"{}\"", p.name, p.value)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Challenge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Challenge");
        d.field("scheme", &self.scheme);
        for p in self.params() {
            d.field(p.name, &p.value);
        }
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDS: &str = "Digest username=\"bob\", realm=\"biloxi.example.com\",\r\n nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:bob@biloxi.example.com\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", algorithm=MD5";

    #[test]
    fn digest_credentials_expose_every_field_but_the_response() {
        let c = Credentials::parse(CREDS);
        assert!(c.is_digest());
        assert_eq!(c.username(), Some("bob"));
        assert_eq!(c.realm(), Some("biloxi.example.com"));
        assert_eq!(c.nonce(), Some("dcd98b7102dd2f0e8b11d0f600bfb0c093"));
        assert_eq!(c.uri(), Some("sip:bob@biloxi.example.com"));
        assert_eq!(c.algorithm(), Some("MD5"));
        assert_eq!(c.qop(), Some("auth"));
        assert_eq!(c.nc(), Some("00000001"));
        assert_eq!(c.cnonce(), Some("0a4f113b"));
        assert_eq!(c.opaque(), Some("5ccc069c403ebaf9f0171e9517f40e41"));
        assert!(c.has_response());
        assert!(c.params().all(|p| p.name != "response"));
        assert_eq!(c.params().count(), 9);
    }

    #[test]
    fn debug_and_display_redact_the_response() {
        let c = Credentials::parse(CREDS);
        let secret = "6629fae49393a05397450978507c4ef1";
        let dbg = format!("{c:?}");
        let disp = c.to_string();
        assert!(!dbg.contains(secret), "{dbg}");
        assert!(!disp.contains(secret), "{disp}");
        assert!(dbg.contains("<redacted>") && disp.contains("response=<redacted>"));
        assert!(disp.contains("username=\"bob\""));
    }

    #[test]
    fn unknown_schemes_are_kept() {
        let c = Credentials::parse("NoOneKnowsThisScheme opaque-data=here");
        assert_eq!(c.scheme(), "NoOneKnowsThisScheme");
        assert!(!c.is_digest());
        assert_eq!(c.username(), None);
        assert!(!c.has_response());
    }

    #[test]
    fn challenges_read_realm_nonce_and_stale() {
        let ch = Challenge::parse(
            "Digest realm=\"atlanta.example.com\", qop=\"auth,auth-int\", nonce=\"84a4cc6f\", opaque=\"\", stale=TRUE, algorithm=SHA-256",
        );
        assert!(ch.is_digest());
        assert_eq!(ch.realm(), Some("atlanta.example.com"));
        assert_eq!(ch.qop(), Some("auth,auth-int"));
        assert_eq!(ch.nonce(), Some("84a4cc6f"));
        assert_eq!(ch.opaque(), Some(""));
        assert_eq!(ch.algorithm(), Some("SHA-256"));
        assert!(ch.stale());
        assert!(!Challenge::parse("Digest realm=x").stale());
        assert!(
            ch.to_string()
                .starts_with("Digest realm=\"atlanta.example.com\"")
        );
    }
}
