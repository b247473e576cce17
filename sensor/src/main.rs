//! `callguard`: the command-line sensor.
//!
//! Exit status: 0 when every input was read to its end; 1 for a usage, rules-file or output error; 2 when a
//! capture file was truncated or corrupt (everything read before the error is still analysed and reported).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use callguard::capture::{self, PacketSource};
use callguard::output::{eve, summary};
use callguard::pipeline::{self, Options, QueueMode};
use callguard_rules::config::Config;
use clap::{Parser, Subcommand};

/// Passive VoIP security sensor.
#[derive(Debug, Parser)]
#[command(name = "callguard", version = VERSION, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

/// The version line, with the cargo features this binary was built with.
#[cfg(feature = "libpcap")]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (features: libpcap)");
/// The version line, with the cargo features this binary was built with.
#[cfg(not(feature = "libpcap"))]
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (features: default, pure-Rust capture)"
);

#[derive(Debug, Subcommand)]
enum Command {
    /// Analyse capture files (pcap or pcapng), in order, and print a summary.
    Analyze(AnalyzeArgs),
}

#[derive(Debug, clap::Args)]
struct AnalyzeArgs {
    /// Capture files, read in the order given.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write EVE JSON lines here (`-` for standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Worker threads (default: the number of cores).
    #[arg(short, long)]
    workers: Option<usize>,
    /// Rules file (TOML): detector thresholds; built-in defaults when absent.
    #[arg(short, long)]
    rules: Option<PathBuf>,
    /// Read through libpcap instead of the built-in reader.
    #[cfg(feature = "libpcap")]
    #[arg(long)]
    libpcap: bool,
    /// BPF filter expression (implies --libpcap).
    #[cfg(feature = "libpcap")]
    #[arg(short, long)]
    filter: Option<String>,
    /// Do not print the summary.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Command::Analyze(a) => match analyze(a) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("callguard: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}

fn load_rules(path: Option<&PathBuf>) -> Result<Config> {
    let Some(p) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("reading rules file {}", p.display()))?;
    Ok(Config::from_toml(&text, &p.display().to_string())?)
}

fn open_sources(a: &AnalyzeArgs) -> Result<Vec<Box<dyn PacketSource>>> {
    let mut v = Vec::new();
    for f in &a.files {
        #[cfg(feature = "libpcap")]
        if a.libpcap || a.filter.is_some() {
            v.push(capture::libpcap::open(f, a.filter.as_deref())?);
            continue;
        }
        v.push(capture::open(f)?);
    }
    Ok(v)
}

fn analyze(a: AnalyzeArgs) -> Result<ExitCode> {
    let config = load_rules(a.rules.as_ref())?;
    let sources = open_sources(&a)?;
    let total: u64 = sources.iter().filter_map(|s| s.total_bytes()).sum();
    let workers = a
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let to_stdout = a.output.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let out: Box<dyn Write + Send> = match &a.output {
        None => Box::new(io::sink()),
        Some(_) if to_stdout => Box::new(BufWriter::new(io::stdout())),
        Some(p) => {
            Box::new(BufWriter::new(File::create(p).with_context(|| {
                format!("creating output file {}", p.display())
            })?))
        }
    };
    let mut writer = eve::EveWriter::new(out);
    let bar = (io::stderr().is_terminal() && total > 16 << 20 && !a.quiet).then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    // Offsets restart at each file; the bar shows the sum of finished files plus the current offset.
    let mut done_before = 0u64;
    let mut last = 0u64;
    let mut progress = |off: u64| {
        if let Some(b) = &bar {
            if off < last {
                done_before += last;
            }
            last = off;
            b.set_position(done_before + off);
        }
    };
    let opts = Options {
        workers,
        mode: QueueMode::Block,
    };
    let report = pipeline::run(sources, &config, &opts, &mut writer, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut output_error = report.output_error.clone();
    // A reader that went away (`| head`) is not an error.
    if a.output.is_some()
        && let Err(e) = writer
            .line(&eve::stats_json(&report))
            .and_then(|()| writer.flush())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        output_error.get_or_insert(e.to_string());
    }
    if !a.quiet {
        let dest = match &a.output {
            None => "none (use --output FILE for EVE JSON)".to_owned(),
            Some(_) if to_stdout => "standard output".to_owned(),
            Some(p) => p.display().to_string(),
        };
        let text = summary::render(&report, &dest);
        // The summary goes to stderr when the JSON goes to stdout.
        if to_stdout {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    for e in &report.errors {
        eprintln!("callguard: {e}");
    }
    if let Some(e) = output_error {
        eprintln!("callguard: writing output: {e}");
        return Ok(ExitCode::from(1));
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
