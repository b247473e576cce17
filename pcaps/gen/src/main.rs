//! `callguard-gen`: writes the synthetic captures of `pcaps/` and the benchmark capture.
//!
//! ```text
//! callguard-gen all --out DIR [--seed N]
//! callguard-gen one NAME --out FILE [--seed N]
//! callguard-gen bench --packets N --out FILE [--seed N]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Deterministic synthetic capture generator for callguard.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write every capture into a directory.
    All {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Seed; the same seed gives byte-identical files.
        #[arg(long, default_value_t = callguard_gen::DEFAULT_SEED)]
        seed: u64,
    },
    /// Write one capture (demo, calls-udp, arp-benign, arp-spoof, syn-flood, tcp-benign,
    /// bruteforce-distributed, flood-distributed, linktypes-vlan, linktypes-qinq, linktypes-sll,
    /// linktypes-sll2, linktypes-raw, linktypes-multi, busy-trunk).
    One {
        /// Capture name.
        name: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = callguard_gen::DEFAULT_SEED)]
        seed: u64,
    },
    /// Stream a benchmark capture of N frames.
    Bench {
        /// Number of frames.
        #[arg(long)]
        packets: usize,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Seed.
        #[arg(long, default_value_t = callguard_gen::DEFAULT_SEED)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("callguard-gen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::All { out, seed } => {
            for path in callguard_gen::write_all(&out, seed)? {
                let len = std::fs::metadata(&path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .len();
                println!("{len:>10}  {}", path.display());
            }
        }
        Command::One { name, out, seed } => callguard_gen::write_capture(&name, seed, &out)?,
        Command::Bench { packets, out, seed } => {
            let bytes = callguard_gen::write_bench(&out, seed, packets)?;
            let avg = if packets == 0 {
                0
            } else {
                bytes / packets as u64
            };
            println!(
                "{packets} frames, {bytes} bytes of frame data ({avg} bytes on average) to {}",
                out.display()
            );
        }
    }
    Ok(())
}
