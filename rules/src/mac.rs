//! MAC addresses in the rules file: `"00:00:5e:00:01:01"`, or a prefix pattern `"00:00:5e:00:01:*"`.

use std::fmt;

use callguard_parsers::link::Mac;
use serde::{Deserialize, Deserializer};

/// A MAC address or a prefix of one (the bytes before a `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacPattern {
    bytes: Vec<u8>,
}

impl MacPattern {
    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-`), or a prefix ending in `:*`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut bytes = Vec::new();
        let parts: Vec<&str> = s.split([':', '-']).collect();
        for (i, p) in parts.iter().enumerate() {
            if *p == "*" && i + 1 == parts.len() {
                return Ok(Self { bytes });
            }
            let b = u8::from_str_radix(p, 16).map_err(|_| format!("invalid MAC address `{s}`"))?;
            bytes.push(b);
        }
        if bytes.len() != 6 {
            return Err(format!(
                "invalid MAC address `{s}`: six bytes or a prefix ending in `*`"
            ));
        }
        Ok(Self { bytes })
    }

    /// Whether `mac` matches.
    pub fn matches(&self, mac: &Mac) -> bool {
        mac.starts_with(&self.bytes)
    }
}

impl fmt::Display for MacPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.bytes.iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "{}", parts.join(":"))?;
        if self.bytes.len() < 6 {
            write!(f, ":*")?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for MacPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MacPattern::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_prefix_patterns() {
        let p = MacPattern::parse("00:00:5e:00:01:*").unwrap();
        assert!(p.matches(&[0, 0, 0x5e, 0, 1, 7]));
        assert!(!p.matches(&[0, 0, 0x5e, 0, 2, 7]));
        let e = MacPattern::parse("02-00-00-00-00-0A").unwrap();
        assert!(e.matches(&[2, 0, 0, 0, 0, 10]));
        assert!(MacPattern::parse("02:00").is_err());
        assert!(MacPattern::parse("zz:00:00:00:00:00").is_err());
        assert_eq!(p.to_string(), "00:00:5e:00:01:*");
    }
}
