//! `callguard`: the command-line sensor.
//!
//! Exit status: 0 when every input was read to its end (live: stopped by SIGINT or SIGTERM); 1 for a usage,
//! rules-file, capture-setup or output error; 2 when a capture file was truncated or corrupt, or a live source
//! failed (everything read before the error is still analysed and reported).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use callguard::capture::live::LiveSource;
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
    /// Capture live from interfaces (AF_PACKET ring on Linux) until SIGINT/SIGTERM, then print a summary.
    Live(LiveArgs),
}

#[derive(Debug, clap::Args)]
struct LiveArgs {
    /// Interface to capture on (repeat for several).
    #[arg(short, long = "interface", required = true)]
    interfaces: Vec<String>,
    /// Open N sockets per interface in one PACKET_FANOUT group (hash mode), each feeding its own worker: the
    /// kernel spreads the flows.
    #[arg(long, value_name = "N")]
    fanout: Option<usize>,
    /// Worker threads behind the dispatcher when there is no fanout (default: the number of cores).
    #[arg(short, long)]
    workers: Option<usize>,
    /// Write EVE JSON lines here (`-` for standard output); alerts are flushed within a second.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Rules file (TOML).
    #[arg(short, long)]
    rules: Option<PathBuf>,
    /// Size of one ring block in bytes (a power of two, a multiple of the page size).
    #[arg(long, default_value_t = 1 << 20)]
    ring_block_size: usize,
    /// Number of blocks in each ring.
    #[arg(long, default_value_t = 64)]
    ring_blocks: usize,
    /// The kernel hands over a partly filled block after this many milliseconds.
    #[arg(long, default_value_t = 100)]
    block_timeout_ms: u32,
    /// Do not put the interfaces in promiscuous mode.
    #[arg(long)]
    no_promisc: bool,
    /// Write a `stats` event this often, in seconds.
    #[arg(long, default_value_t = 60)]
    stats_interval: u64,
    /// Capture through libpcap instead of the AF_PACKET ring.
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
    let res = match cli.cmd {
        Command::Analyze(a) => analyze(a),
        Command::Live(a) => live(a),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("callguard: {e:#}");
            ExitCode::from(1)
        }
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

/// Where the EVE lines go.
struct Output {
    writer: eve::EveWriter<Box<dyn Write + Send>>,
    to_stdout: bool,
    dest: String,
    enabled: bool,
}

fn open_output(path: Option<&PathBuf>) -> Result<Output> {
    let to_stdout = path.is_some_and(|p| p.as_os_str() == "-");
    let out: Box<dyn Write + Send> = match path {
        None => Box::new(io::sink()),
        Some(_) if to_stdout => Box::new(BufWriter::new(io::stdout())),
        Some(p) => {
            Box::new(BufWriter::new(File::create(p).with_context(|| {
                format!("creating output file {}", p.display())
            })?))
        }
    };
    let dest = match path {
        None => "none (use --output FILE for EVE JSON)".to_owned(),
        Some(_) if to_stdout => "standard output".to_owned(),
        Some(p) => p.display().to_string(),
    };
    Ok(Output {
        writer: eve::EveWriter::new(out),
        to_stdout,
        dest,
        enabled: path.is_some(),
    })
}

/// Writes the final stats line and the summary; returns the exit code for the output side.
fn finish(mut out: Output, report: &pipeline::Report, quiet: bool) -> Option<ExitCode> {
    let mut output_error = report.output_error.clone();
    // A reader that went away (`| head`) is not an error.
    if out.enabled
        && let Err(e) = out
            .writer
            .line(&eve::stats_json(report))
            .and_then(|()| out.writer.flush())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        output_error.get_or_insert(e.to_string());
    }
    if !quiet {
        let text = summary::render(report, &out.dest);
        // The summary goes to stderr when the JSON goes to stdout.
        if out.to_stdout {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    output_error.map(|e| {
        eprintln!("callguard: writing output: {e}");
        ExitCode::from(1)
    })
}

fn default_workers(w: Option<usize>) -> usize {
    w.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

fn analyze(a: AnalyzeArgs) -> Result<ExitCode> {
    let config = load_rules(a.rules.as_ref())?;
    let sources = open_sources(&a)?;
    let total: u64 = sources.iter().filter_map(|s| s.total_bytes()).sum();
    let workers = default_workers(a.workers);
    let mut out = open_output(a.output.as_ref())?;
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
    let report = pipeline::run(sources, &config, &opts, &mut out.writer, &mut progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(code) = finish(out, &report, a.quiet) {
        return Ok(code);
    }
    for e in &report.errors {
        eprintln!("callguard: {e}");
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn live(a: LiveArgs) -> Result<ExitCode> {
    let config = load_rules(a.rules.as_ref())?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing the signal handlers")?;
    }
    let fanout = a.fanout.unwrap_or(0);
    let mut sources: Vec<Box<dyn LiveSource>> = Vec::new();
    #[cfg(feature = "libpcap")]
    let use_libpcap = a.libpcap || a.filter.is_some();
    #[cfg(not(feature = "libpcap"))]
    let use_libpcap = false;
    if use_libpcap {
        #[cfg(feature = "libpcap")]
        for iface in &a.interfaces {
            sources.push(Box::new(capture::libpcap::open_live(
                iface,
                a.filter.as_deref(),
                !a.no_promisc,
            )?));
        }
    } else {
        #[cfg(target_os = "linux")]
        {
            use callguard::capture::af_packet::{AfPacket, FanoutGroup, FanoutMode, RingConfig};
            let cfg = RingConfig {
                block_size: a.ring_block_size,
                block_count: a.ring_blocks,
                block_timeout_ms: a.block_timeout_ms,
                promiscuous: !a.no_promisc,
                ..RingConfig::default()
            };
            for (i, iface) in a.interfaces.iter().enumerate() {
                if fanout > 0 {
                    // One group per interface; the id mixes in the process id so two sensors on one host do
                    // not join each other's groups.
                    let id = u16::try_from((std::process::id() as usize + i) % 0xffff).unwrap_or(0);
                    let group = FanoutGroup {
                        id,
                        mode: FanoutMode::Hash,
                    };
                    for _ in 0..fanout {
                        sources.push(Box::new(AfPacket::open(iface, &cfg, Some(group))?));
                    }
                } else {
                    sources.push(Box::new(AfPacket::open(iface, &cfg, None)?));
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        anyhow::bail!(
            "AF_PACKET capture needs Linux; build with --features libpcap and use --libpcap"
        );
    }
    let mut out = open_output(a.output.as_ref())?;
    let opts = pipeline::LiveOptions {
        workers: default_workers(a.workers),
        fanout: fanout > 0 && !use_libpcap,
        stats_every: Duration::from_secs(a.stats_interval.max(1)),
        ring_lag: Duration::from_millis(u64::from(a.block_timeout_ms) + 150),
    };
    if !a.quiet {
        eprintln!(
            "callguard: capturing on {} ({}); Ctrl-C to stop",
            a.interfaces.join(", "),
            if opts.fanout {
                format!("fanout {fanout} per interface")
            } else {
                format!("{} workers", opts.workers)
            }
        );
    }
    let report = pipeline::run_live(sources, &config, &opts, &mut out.writer, &stop);
    if let Some(code) = finish(out, &report, a.quiet) {
        return Ok(code);
    }
    for e in &report.capture_errors {
        eprintln!("callguard: {e}");
    }
    Ok(if report.capture_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
