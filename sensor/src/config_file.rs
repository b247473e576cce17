//! `--config FILE`: every command-line option of a subcommand, in TOML, so a service's settings live in one
//! file (`/etc/callguard/callguard.toml`) instead of a long command line.
//!
//! ```toml
//! [live]
//! interface = ["eth1"]          # -i/--interface, repeatable: an array
//! workers = 4
//! output = "/var/log/callguard/eve.json"
//! rules = "/etc/callguard/rules.toml"
//! metrics = "127.0.0.1:9477"
//! no-promisc = false            # flags: true or false
//!
//! [analyze]
//! workers = 2
//! files = ["a.pcap", "b.pcap"]  # the positional capture files
//! ```
//!
//! Keys are the long option names (`ring-block-size`, or `ring_block_size`); a table per subcommand. The file
//! becomes arguments placed before the command line's, and an option given on the command line replaces the
//! file's value for that option (for repeatable ones too: `-i eth2` replaces the file's list). An unknown key,
//! or a value of the wrong kind, is an error naming the file, the table and the key.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::Path;

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("configuration file {file}: {message}")]
pub struct ConfigFileError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// Where `--config` is in `args` (after the subcommand): the file, if given.
fn config_path(args: &[OsString]) -> Option<OsString> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            return None;
        }
        if s == "--config" {
            return it.next().cloned();
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(v.into());
        }
    }
    None
}

/// The long names of the options `args` sets (by long or short name).
fn given(sub: &clap::Command, args: &[OsString]) -> HashSet<String> {
    let mut set = HashSet::new();
    for a in args {
        let s = a.to_string_lossy();
        if s == "--" {
            break;
        }
        if let Some(long) = s.strip_prefix("--") {
            set.insert(long.split('=').next().unwrap_or(long).to_owned());
        } else if let Some(shorts) = s.strip_prefix('-') {
            // `-w4`, `-qi eth0`: the first letter is an option; clustered flags each count.
            for c in shorts.chars() {
                let Some(arg) = sub.get_arguments().find(|x| x.get_short() == Some(c)) else {
                    break;
                };
                if let Some(l) = arg.get_long() {
                    set.insert(l.to_owned());
                }
                if arg.get_action().takes_values() {
                    break;
                }
            }
        }
    }
    set
}

/// Turns one TOML value into option arguments.
fn push_value(
    out: &mut Vec<OsString>,
    long: &str,
    v: &toml::Value,
    takes_value: bool,
) -> Result<(), String> {
    match (v, takes_value) {
        (toml::Value::Boolean(b), false) => {
            if *b {
                out.push(format!("--{long}").into());
            }
            Ok(())
        }
        (toml::Value::Boolean(_), true) => Err("expects a value, not true/false".into()),
        (_, false) => Err("is a flag: write true or false".into()),
        (toml::Value::Array(items), true) => {
            for i in items {
                push_value(out, long, i, true)?;
            }
            Ok(())
        }
        (toml::Value::String(s), true) => {
            out.push(format!("--{long}={s}").into());
            Ok(())
        }
        (toml::Value::Integer(n), true) => {
            out.push(format!("--{long}={n}").into());
            Ok(())
        }
        (toml::Value::Float(f), true) => {
            out.push(format!("--{long}={f}").into());
            Ok(())
        }
        (other, true) => Err(format!("has an unsupported value {other}")),
    }
}

/// The command line with `--config FILE`'s options in it: `args` is the whole command line (program name
/// first), `cmd` the clap command. Without `--config`, `args` comes back as it is.
pub fn expand(cmd: &clap::Command, args: Vec<OsString>) -> Result<Vec<OsString>, ConfigFileError> {
    // The subcommand is the first argument naming one.
    let Some((sub_at, sub)) = args.iter().enumerate().skip(1).find_map(|(i, a)| {
        cmd.find_subcommand(a.to_string_lossy().as_ref())
            .map(|s| (i, s))
    }) else {
        return Ok(args);
    };
    let rest = args.get(sub_at + 1..).unwrap_or(&[]).to_vec();
    let Some(path) = config_path(&rest) else {
        return Ok(args);
    };
    let file = Path::new(&path).display().to_string();
    let err = |message: String| ConfigFileError {
        file: file.clone(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(e.to_string()))?;
    let name = sub.get_name();
    for key in doc.keys() {
        if cmd.find_subcommand(key).is_none() {
            return Err(err(format!(
                "[{key}] is not a subcommand (tables: {})",
                cmd.get_subcommands()
                    .map(|s| s.get_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let mut from_file: Vec<OsString> = Vec::new();
    let mut positional: Vec<OsString> = Vec::new();
    let on_cli = given(sub, &rest);
    let cli_has_positional = rest.iter().any(|a| !a.to_string_lossy().starts_with('-'));
    if let Some(table) = doc.get(name) {
        let table = table
            .as_table()
            .ok_or_else(|| err(format!("[{name}] must be a table")))?;
        for (key, value) in table {
            let long = key.replace('_', "-");
            if long == "config" {
                return Err(err(format!(
                    "[{name}] {key}: a configuration file cannot name another"
                )));
            }
            let Some(arg) = sub.get_arguments().find(|a| {
                a.get_long() == Some(long.as_str())
                    || (a.is_positional() && a.get_id() == key.as_str())
            }) else {
                return Err(err(format!(
                    "[{name}] {key}: `callguard {name}` has no option --{long}"
                )));
            };
            if arg.is_positional() {
                if !cli_has_positional {
                    let items = value
                        .as_array()
                        .cloned()
                        .unwrap_or_else(|| vec![value.clone()]);
                    for i in items {
                        let s = i
                            .as_str()
                            .ok_or_else(|| err(format!("[{name}] {key}: expects strings")))?;
                        positional.push(s.into());
                    }
                }
                continue;
            }
            if on_cli.contains(&long) {
                continue;
            }
            push_value(
                &mut from_file,
                &long,
                value,
                arg.get_action().takes_values(),
            )
            .map_err(|m| err(format!("[{name}] {key} {m}")))?;
        }
    }
    let mut out: Vec<OsString> = args.get(..=sub_at).unwrap_or(&[]).to_vec();
    out.extend(from_file);
    out.extend(rest);
    out.extend(positional);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn cmd() -> Command {
        Command::new("t").subcommand(
            Command::new("live")
                .arg(
                    Arg::new("interface")
                        .short('i')
                        .long("interface")
                        .action(ArgAction::Append),
                )
                .arg(Arg::new("workers").short('w').long("workers"))
                .arg(
                    Arg::new("quiet")
                        .short('q')
                        .long("quiet")
                        .action(ArgAction::SetTrue),
                )
                .arg(Arg::new("config").long("config")),
        )
    }

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(Into::into).collect()
    }

    #[test]
    fn the_file_goes_first_and_the_command_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(
            &f,
            "[live]\ninterface = ['eth1', 'eth2']\nworkers = 4\nquiet = true\n",
        )
        .unwrap();
        let p = f.display().to_string();
        let got = expand(&cmd(), os(&["t", "live", "--config", &p, "-w8"])).unwrap();
        assert_eq!(
            got,
            os(&[
                "t",
                "live",
                "--interface=eth1",
                "--interface=eth2",
                "--quiet",
                "--config",
                &p,
                "-w8"
            ])
        );
        let got = expand(
            &cmd(),
            os(&["t", "live", &format!("--config={p}"), "-qi", "eth9"]),
        )
        .unwrap();
        assert_eq!(
            got,
            os(&[
                "t",
                "live",
                "--workers=4",
                &format!("--config={p}"),
                "-qi",
                "eth9"
            ])
        );
    }

    #[test]
    fn mistakes_name_the_file_table_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        let p = f.display().to_string();
        for (text, want) in [
            ("[live]\nworkerz = 4\n", "workerz"),
            ("[live]\nquiet = 'yes'\n", "is a flag"),
            ("[live]\nworkers = true\n", "expects a value"),
            ("[lve]\n", "[lve] is not a subcommand"),
            ("[live\n", "c.toml"),
        ] {
            std::fs::write(&f, text).unwrap();
            let e = expand(&cmd(), os(&["t", "live", "--config", &p]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&p) && e.contains(want), "{text:?}: {e}");
        }
        // No --config: untouched.
        assert_eq!(
            expand(&cmd(), os(&["t", "live", "-w", "2"])).unwrap(),
            os(&["t", "live", "-w", "2"])
        );
    }
}
