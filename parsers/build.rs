//! Turns the IANA tables in `data/` into Rust code (`$OUT_DIR/registry.rs`), as tls-parser's `build.rs` does:
//! the properties of a cipher suite come from the table, not from code typed by hand.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a build script over files of this crate: a broken table must stop the build"
)]

use std::fmt::Write as _;
use std::path::PathBuf;

fn rows(file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn hex(s: &str) -> u16 {
    u16::from_str_radix(s, 16).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn main() {
    println!("cargo::rerun-if-changed=data/tls-cipher-suites.csv");
    println!("cargo::rerun-if-changed=data/tls-versions.csv");
    let mut out = String::new();
    let mut suites = rows("data/tls-cipher-suites.csv");
    suites.sort_by_key(|r| hex(&r[0]));
    writeln!(
        out,
        "/// Generated from `data/tls-cipher-suites.csv`, sorted by value."
    )
    .unwrap();
    writeln!(out, "static SUITES: [SuiteRow; {}] = [", suites.len()).unwrap();
    for r in &suites {
        assert_eq!(r.len(), 10, "{r:?}");
        let strength = match r[9].as_str() {
            "insecure" => "Strength::Insecure",
            "weak" => "Strength::Weak",
            "secure" => "Strength::Secure",
            "none" => "Strength::NotASuite",
            s => panic!("strength {s}"),
        };
        writeln!(
            out,
            "    SuiteRow {{ value: 0x{}, name: {:?}, kx: {:?}, auth: {:?}, cipher: {:?}, mode: {:?}, bits: {}, mac: {:?}, export: {}, strength: {strength} }},",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8] == "1"
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();
    let mut versions = rows("data/tls-versions.csv");
    versions.sort_by_key(|r| hex(&r[0]));
    writeln!(
        out,
        "/// Generated from `data/tls-versions.csv`, sorted by value."
    )
    .unwrap();
    writeln!(out, "static VERSIONS: [VersionRow; {}] = [", versions.len()).unwrap();
    for r in &versions {
        assert_eq!(r.len(), 4, "{r:?}");
        writeln!(
            out,
            "    VersionRow {{ value: 0x{}, name: {:?}, dtls: {}, rank: {} }},",
            r[0],
            r[1],
            r[2] == "1",
            r[3]
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();
    let dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(dir.join("registry.rs"), out).expect("OUT_DIR is writable");
}
