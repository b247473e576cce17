//! Helpers shared by the sensor's integration tests that need root and the lab's tools.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// What is missing to run a lab test here: root, one of `tools`, or Debian's python3 with scapy (when
/// `scapy` is asked).
fn missing(tools: &[&str], scapy: bool) -> Option<String> {
    // The effective uid, through `id -u` (no libc call needed in a test).
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.as_deref() != Some("0") {
        return Some("root".into());
    }
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("the `{tool}` command (see tests/lab/README.md)"));
        }
    }
    if scapy
        && !Command::new("/usr/bin/python3")
            .args(["-c", "import scapy"])
            .output()
            .is_ok_and(|o| o.status.success())
    {
        return Some("python3-scapy".into());
    }
    None
}

/// Whether a test that needs root and `tools` can run. Without them it is skipped with a message naming what is
/// missing, unless `CALLGUARD_REQUIRE_LAB` is set (`.ci/run` sets it): then a missing piece fails the test, so CI
/// can never pass by skipping.
pub(crate) fn lab_or_skip(test: &str, tools: &[&str], scapy: bool) -> bool {
    match missing(tools, scapy) {
        None => true,
        Some(what) if std::env::var_os("CALLGUARD_REQUIRE_LAB").is_some() => {
            panic!("{test}: needs {what} (CALLGUARD_REQUIRE_LAB is set)")
        }
        Some(what) => {
            eprintln!("skipped {test}: needs {what}");
            false
        }
    }
}
