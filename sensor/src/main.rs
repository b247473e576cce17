//! `callguard`: the command-line sensor.
//!
//! Exit status: 0 when every input was read to its end (live: stopped by SIGINT or SIGTERM); 1 for a usage,
//! rules-file, certificate-store, capture-setup or output error; 2 when a capture file was truncated or corrupt, or a live source
//! failed (everything read before the error is still analysed and reported).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use callguard::capture::live::LiveSource;
use callguard::capture::{self, PacketSource};
use callguard::metrics::{self, Hub, Snapshot};
use callguard::output::{eve, hep, summary, syslog};
use callguard::pipeline::{self, AlertSink, Options, QueueMode};
use callguard_rules::config::Config;
use callguard_rules::detectors::tls_cert_changed::CertStore;
use callguard_rules::engine::Engine;
use clap::{CommandFactory, Parser, Subcommand};

/// A line on standard error. A failed write is ignored, never a panic (as `eprintln!` would): a full disk
/// under a redirected stderr must not turn an output error into a crash.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// Text on standard error, without a newline; failures ignored.
macro_rules! say_raw {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($t)*);
    }};
}

/// Text on standard output (the summary); failures ignored (`| head`, a full disk).
macro_rules! out_raw {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

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
    /// Certificate store of `tls-cert-changed` (JSON): loaded at start when the file exists, saved at the end
    /// (to a temporary file beside it, then renamed), so that a restart remembers the certificates seen.
    #[arg(long, value_name = "FILE")]
    cert_store: Option<PathBuf>,
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
    /// Also send every alert to a syslog receiver, RFC 5424: `udp://HOST[:PORT]`, `tcp://HOST[:PORT]` (RFC 6587
    /// octet counting) or `HOST:PORT` (UDP); port 514 by default. The EVE JSON line is the message.
    #[arg(long, value_name = "TARGET", value_parser = syslog::parse_target)]
    syslog: Option<syslog::SyslogTarget>,
    /// Syslog facility: local0 to local7, user, daemon, auth, ... or 0 to 23.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "local0",
        requires = "syslog"
    )]
    syslog_facility: syslog::Facility,
    /// Also send every SIP message to a HEP version 3 collector (Homer, heplify-server, sngrep -L):
    /// `udp://HOST[:PORT]` or `HOST[:PORT]`, port 9060 by default. Authorization values and SDP keys are masked
    /// first.
    #[arg(long, value_name = "TARGET", value_parser = hep::parse_target)]
    hep: Option<SocketAddr>,
    /// The capture agent id in every HEP message.
    #[arg(long, value_name = "ID", default_value_t = 0, requires = "hep")]
    hep_id: u32,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (a bare PORT listens on 127.0.0.1 only).
    #[arg(long, value_name = "ADDR:PORT", value_parser = metrics::parse_listen)]
    metrics: Option<SocketAddr>,
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
    /// Once the capture, the output file and the metrics listener are open, switch to this user (a name or
    /// a uid) for the rest of the run: its groups, no way back to root, no capabilities. Files opened later
    /// are opened as this user: the --cert-store saved at the end (its directory must be writable by it), the
    /// rules file a SIGHUP re-reads, and the output file a SIGHUP reopens after a rotation.
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Read options from this TOML file (a `[live]` or `[analyze]` table, keys = long option names); options
    /// on the command line win. See `deploy/callguard.toml`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
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
    /// Certificate store of `tls-cert-changed` (JSON): loaded at start when the file exists, saved at the end
    /// (to a temporary file beside it, then renamed), so that a restart remembers the certificates seen.
    #[arg(long, value_name = "FILE")]
    cert_store: Option<PathBuf>,
    /// Also send every alert to a syslog receiver, RFC 5424: `udp://HOST[:PORT]`, `tcp://HOST[:PORT]` (RFC 6587
    /// octet counting) or `HOST:PORT` (UDP); port 514 by default. The EVE JSON line is the message.
    #[arg(long, value_name = "TARGET", value_parser = syslog::parse_target)]
    syslog: Option<syslog::SyslogTarget>,
    /// Syslog facility: local0 to local7, user, daemon, auth, ... or 0 to 23.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "local0",
        requires = "syslog"
    )]
    syslog_facility: syslog::Facility,
    /// Also send every SIP message to a HEP version 3 collector (Homer, heplify-server, sngrep -L):
    /// `udp://HOST[:PORT]` or `HOST[:PORT]`, port 9060 by default. Authorization values and SDP keys are masked
    /// first.
    #[arg(long, value_name = "TARGET", value_parser = hep::parse_target)]
    hep: Option<SocketAddr>,
    /// The capture agent id in every HEP message.
    #[arg(long, value_name = "ID", default_value_t = 0, requires = "hep")]
    hep_id: u32,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (a bare PORT listens on 127.0.0.1 only).
    #[arg(long, value_name = "ADDR:PORT", value_parser = metrics::parse_listen)]
    metrics: Option<SocketAddr>,
    /// With --metrics: once the files are read, keep serving the final figures until SIGINT/SIGTERM (for
    /// dashboards built on offline runs).
    #[arg(long, requires = "metrics")]
    metrics_hold: bool,
    /// Read through libpcap instead of the built-in reader.
    #[cfg(feature = "libpcap")]
    #[arg(long)]
    libpcap: bool,
    /// BPF filter expression (implies --libpcap).
    #[cfg(feature = "libpcap")]
    #[arg(short, long)]
    filter: Option<String>,
    /// Read options from this TOML file (a `[live]` or `[analyze]` table, keys = long option names); options
    /// on the command line win. See `deploy/callguard.toml`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Do not print the summary.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = match callguard::config_file::expand(&Cli::command(), std::env::args_os().collect())
    {
        Ok(a) => a,
        Err(e) => {
            say!("callguard: {e}");
            return ExitCode::from(1);
        }
    };
    let cli = Cli::parse_from(args);
    let res = match cli.cmd {
        Command::Analyze(a) => analyze(a),
        Command::Live(a) => live(a),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            say!("callguard: {e:#}");
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

/// The engine for `config`, with the certificate store saved at `path` loaded when the file exists. A store
/// that cannot be read is an error: starting afresh would silently forget what was pinned by first use.
fn engine_with_store(config: &Config, path: Option<&Path>) -> Result<Engine> {
    let mut engine = Engine::new(config);
    let Some(p) = path else {
        return Ok(engine);
    };
    let text = match std::fs::read_to_string(p) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(engine),
        Err(e) => {
            return Err(e).with_context(|| format!("reading certificate store {}", p.display()));
        }
    };
    let store: CertStore = serde_json::from_str(&text).with_context(|| {
        format!(
            "certificate store {} is corrupt (move it away to start with an empty store)",
            p.display()
        )
    })?;
    let loaded = engine
        .import_cert_store(&store)
        .with_context(|| format!("certificate store {}", p.display()))?;
    if loaded.is_none() {
        say!(
            "callguard: no running detector keeps a certificate store (tls-cert-changed is disabled); {} is left as it is",
            p.display()
        );
    }
    Ok(engine)
}

/// Saves the engine's certificate store to `path`, atomically: a temporary file in the same directory, synced,
/// then renamed over the old store, so a crash leaves the old store or the new one, never half of one.
fn save_cert_store(path: Option<&Path>, report: &pipeline::Report) -> Result<()> {
    let (Some(path), Some(store)) = (path, &report.cert_store) else {
        return Ok(());
    };
    let name = path
        .file_name()
        .with_context(|| format!("--cert-store {} names no file", path.display()))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> io::Result<()> {
        let mut f = BufWriter::new(File::create(&tmp)?);
        serde_json::to_writer_pretty(&mut f, store)?;
        f.write_all(b"\n")?;
        f.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("saving certificate store {}", path.display()))
    })
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

/// Opens the EVE output. `append`: keep what the file holds (live: a restarted service goes on writing the
/// same log); otherwise it is truncated (analyze: one run, one file). A file output reopens on request
/// (SIGHUP after log rotation), in append mode.
fn open_output(path: Option<&PathBuf>, append: bool) -> Result<Output> {
    let to_stdout = path.is_some_and(|p| p.as_os_str() == "-");
    let open = |p: &Path, append: bool| -> io::Result<Box<dyn Write + Send>> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(p)?;
        Ok(Box::new(BufWriter::new(f)))
    };
    let writer = match path {
        None => eve::EveWriter::new(Box::new(io::sink()) as Box<dyn Write + Send>),
        Some(_) if to_stdout => eve::EveWriter::new(Box::new(BufWriter::new(io::stdout())) as _),
        Some(p) => {
            let w =
                open(p, append).with_context(|| format!("creating output file {}", p.display()))?;
            let path = p.clone();
            eve::EveWriter::with_reopen(w, Box::new(move || open(&path, true)))
        }
    };
    let dest = match path {
        None => "none (use --output FILE for EVE JSON)".to_owned(),
        Some(_) if to_stdout => "standard output".to_owned(),
        Some(p) => p.display().to_string(),
    };
    Ok(Output {
        writer,
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
            say_raw!("{text}");
        } else {
            out_raw!("{text}");
        }
    }
    output_error.map(|e| {
        say!("callguard: writing output: {e}");
        ExitCode::from(1)
    })
}

/// Starts the syslog sink when asked, and lets the metrics endpoint follow its counters.
fn start_syslog(
    target: Option<syslog::SyslogTarget>,
    facility: syslog::Facility,
    hub: Option<&Arc<Hub>>,
) -> Result<Option<syslog::Syslog>> {
    let Some(target) = target else {
        return Ok(None);
    };
    let mut cfg = syslog::SyslogConfig::new(target);
    cfg.facility = facility;
    let s = syslog::Syslog::start(cfg)
        .with_context(|| format!("starting the syslog sink to {}", target.addr()))?;
    if let Some(h) = hub {
        h.attach_syslog(s.stats_handle());
    }
    Ok(Some(s))
}

/// Starts the HEP sink when asked, and lets the metrics endpoint follow its counters.
fn start_hep(
    target: Option<SocketAddr>,
    id: u32,
    hub: Option<&Arc<Hub>>,
) -> Result<Option<hep::Hep>> {
    let Some(target) = target else {
        return Ok(None);
    };
    let h = hep::Hep::start(target, id)
        .with_context(|| format!("starting the HEP sink to {target}"))?;
    if let Some(hub) = hub {
        hub.attach_hep(h.stats_handle());
    }
    Ok(Some(h))
}

/// Stops the HEP sink (what is queued gets 5 s to go out) and says what it sent.
fn close_hep(h: Option<hep::Hep>, quiet: bool) {
    let Some(h) = h else { return };
    let target = h.target();
    let st = h.close(Duration::from_secs(5));
    if !quiet || st.dropped > 0 || st.errors > 0 {
        say!(
            "callguard: hep to {target}: {} SIP messages sent, {} dropped, {} too big, {} errors",
            st.sent,
            st.dropped,
            st.too_big,
            st.errors
        );
    }
}

/// Runs `run` with the EVE writer as the sink, teed to the syslog sink when there is one; the syslog sink is
/// then stopped (what is queued gets 5 s to go out) and what it could not deliver is said.
fn with_sinks<R>(
    eve: &mut eve::EveWriter<Box<dyn Write + Send>>,
    syslog: Option<syslog::Syslog>,
    quiet: bool,
    run: impl FnOnce(&mut dyn AlertSink) -> R,
) -> R {
    let Some(syslog) = syslog else {
        return run(eve);
    };
    let mut tee = syslog::Tee { inner: eve, syslog };
    let r = run(&mut tee);
    let st = tee.syslog.close(Duration::from_secs(5));
    if !quiet || st.dropped > 0 {
        say!(
            "callguard: syslog: {} sent, {} dropped, {} truncated, {} errors, {} reconnects",
            st.sent,
            st.dropped,
            st.truncated,
            st.errors,
            st.reconnects
        );
    }
    r
}

/// Starts the metrics endpoint when asked: the hub the pipeline publishes to and the server thread.
fn start_metrics(
    addr: Option<SocketAddr>,
    quiet: bool,
) -> Result<(Option<Arc<Hub>>, Option<metrics::Server>)> {
    let Some(addr) = addr else {
        return Ok((None, None));
    };
    let hub = Hub::new();
    let server =
        metrics::serve(addr, hub.clone()).with_context(|| format!("serving metrics on {addr}"))?;
    if !quiet {
        say!("callguard: metrics on http://{}/metrics", server.addr);
    }
    Ok((Some(hub), Some(server)))
}

fn default_workers(w: Option<usize>) -> usize {
    w.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

fn analyze(a: AnalyzeArgs) -> Result<ExitCode> {
    let config = load_rules(a.rules.as_ref())?;
    let engine = engine_with_store(&config, a.cert_store.as_deref())?;
    let sources = open_sources(&a)?;
    let total: u64 = sources.iter().filter_map(|s| s.total_bytes()).sum();
    let workers = default_workers(a.workers);
    let mut out = open_output(a.output.as_ref(), false)?;
    // SIGINT/SIGTERM only matter while holding the final metrics; the handlers go in first so that a
    // signal during the run is remembered rather than killing the process with half-written output.
    let stop = Arc::new(AtomicBool::new(false));
    if a.metrics_hold {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, stop.clone())
                .context("installing the signal handlers")?;
        }
    }
    let (hub, server) = start_metrics(a.metrics, a.quiet)?;
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
    let hep_sink = start_hep(a.hep, a.hep_id, hub.as_ref())?;
    let opts = Options {
        workers,
        mode: QueueMode::Block,
        metrics: hub.clone(),
        control: None,
        hep: hep_sink.as_ref().map(hep::Hep::handle),
    };
    let sink = start_syslog(a.syslog, a.syslog_facility, hub.as_ref())?;
    let report = with_sinks(&mut out.writer, sink, a.quiet, |s| {
        pipeline::run_engine(sources, engine, &opts, s, &mut progress)
    });
    close_hep(hep_sink, a.quiet);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(h) = &hub {
        h.publish(Snapshot::of(&report, true));
    }
    let saved = save_cert_store(a.cert_store.as_deref(), &report);
    let code = finish(out, &report, a.quiet);
    for e in &report.errors {
        say!("callguard: {e}");
    }
    if let Some(s) = server {
        if a.metrics_hold {
            if !a.quiet {
                say!(
                    "callguard: the run is over; serving its final metrics on http://{}/metrics until SIGINT or SIGTERM",
                    s.addr
                );
            }
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        s.stop();
    }
    if let Some(code) = code {
        return Ok(code);
    }
    saved?;
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// SIGHUP while capturing: re-read the rules file (a file that does not load keeps the running rules, and
/// says why) and hand it to the engine, which keeps every state it can; and reopen the output file (log
/// rotation). Runs until `done`.
fn on_sighup(
    control: &pipeline::Control,
    hup: &AtomicBool,
    done: &AtomicBool,
    rules: Option<&PathBuf>,
    mut running: Config,
    quiet: bool,
) {
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if !hup.swap(false, Ordering::Relaxed) {
            continue;
        }
        if let Some(path) = rules {
            match load_rules(Some(path)) {
                Ok(new) => {
                    let changes =
                        callguard_rules::detectors::changes(&running.detectors, &new.detectors);
                    if !quiet {
                        let list: Vec<String> = changes
                            .iter()
                            .map(|(slug, c)| format!("{slug} {}", c.name()))
                            .collect();
                        say!(
                            "callguard: SIGHUP: rules re-read from {}: {}",
                            path.display(),
                            if list.is_empty() {
                                "no detector changed".to_owned()
                            } else {
                                list.join(", ")
                            }
                        );
                    }
                    control.reload(new.clone());
                    running = new;
                }
                Err(e) => say!("callguard: SIGHUP: keeping the running rules: {e:#}"),
            }
        }
        control.reopen();
    }
}

fn live(a: LiveArgs) -> Result<ExitCode> {
    let config = load_rules(a.rules.as_ref())?;
    let engine = engine_with_store(&config, a.cert_store.as_deref())?;
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
    let mut out = open_output(a.output.as_ref(), true)?;
    let (hub, server) = start_metrics(a.metrics, a.quiet)?;
    if let Some(user) = &a.user {
        #[cfg(not(target_os = "linux"))]
        anyhow::bail!("--user {user} needs Linux");
        #[cfg(target_os = "linux")]
        {
            let dropped = capture::privileges::drop_privileges(user)?;
            if !a.quiet {
                say!("callguard: {dropped}");
            }
        }
    }
    let control = pipeline::Control::new();
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone())
        .context("installing the SIGHUP handler")?;
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (control, hup, done) = (control.clone(), hup.clone(), done.clone());
        let rules = a.rules.clone();
        let quiet = a.quiet;
        std::thread::Builder::new()
            .name("cg-sighup".into())
            .spawn(move || on_sighup(&control, &hup, &done, rules.as_ref(), config, quiet))
            .context("starting the SIGHUP thread")?
    };
    let hep_sink = start_hep(a.hep, a.hep_id, hub.as_ref())?;
    let opts = pipeline::LiveOptions {
        workers: default_workers(a.workers),
        fanout: fanout > 0 && !use_libpcap,
        stats_every: Duration::from_secs(a.stats_interval.max(1)),
        ring_lag: Duration::from_millis(u64::from(a.block_timeout_ms) + 150),
        metrics: hub.clone(),
        control: Some(control),
        hep: hep_sink.as_ref().map(hep::Hep::handle),
    };
    if !a.quiet {
        say!(
            "callguard: capturing on {} ({}); Ctrl-C to stop",
            a.interfaces.join(", "),
            if opts.fanout {
                format!("fanout {fanout} per interface")
            } else {
                format!("{} workers", opts.workers)
            }
        );
    }
    let sink = start_syslog(a.syslog, a.syslog_facility, hub.as_ref())?;
    let report = with_sinks(&mut out.writer, sink, a.quiet, |s| {
        pipeline::run_live_engine(sources, engine, &opts, s, &stop)
    });
    close_hep(hep_sink, a.quiet);
    done.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    if let Some(h) = &hub {
        h.publish(Snapshot::of(&report, true));
    }
    if let Some(s) = server {
        s.stop();
    }
    let saved = save_cert_store(a.cert_store.as_deref(), &report);
    if let Some(code) = finish(out, &report, a.quiet) {
        return Ok(code);
    }
    saved?;
    for e in &report.capture_errors {
        say!("callguard: {e}");
    }
    Ok(if report.capture_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use callguard_rules::detectors::tls_cert_changed::{Fingerprint, StoredCert, StoredServer};

    fn store() -> CertStore {
        CertStore {
            version: CertStore::VERSION,
            servers: vec![StoredServer {
                server: "10.77.0.1:5061".parse().unwrap(),
                sni: Some("pbx.lab.callguard".into()),
                first_seen: 1_768_471_200,
                last_seen: 1_768_471_300,
                cert: StoredCert {
                    sha256: Fingerprint([0xce; 32]),
                    subject: "CN=pbx.lab.callguard".into(),
                    issuer: "CN=pbx.lab.callguard".into(),
                    not_before: 1_768_000_000,
                    not_after: 1_770_000_000,
                    key_type: "rsa".into(),
                    key_bits: 2048,
                    spki_sha256: None,
                },
                previous: Vec::new(),
            }],
        }
    }

    /// A valid sample value for each option that has no default (a new option without one here fails the
    /// test below: add it).
    fn sample(id: &str) -> Option<&'static str> {
        Some(match id {
            "files" => "x.pcap",
            "interfaces" => "eth1",
            "output" => "eve.json",
            "rules" => "rules.toml",
            "cert_store" => "certs.json",
            "metrics" => "127.0.0.1:9477",
            "workers" | "fanout" => "3",
            "filter" => "udp port 5060",
            "user" => "nobody",
            "syslog" => "udp://127.0.0.1:514",
            "syslog_facility" => "local3",
            "hep" => "udp://127.0.0.1:9060",
            _ => return None,
        })
    }

    /// Every option of every subcommand written in a configuration file parses as the same option given on
    /// the command line.
    #[test]
    fn a_config_file_can_hold_every_command_line_option() {
        let cmd = Cli::command();
        let dir = tempfile::tempdir().unwrap();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            let mut text = format!("[{name}]\n");
            let mut cli: Vec<String> = vec!["callguard".into(), name.into()];
            let mut positional = Vec::new();
            for arg in sub.get_arguments() {
                let id = arg.get_id().as_str();
                if ["help", "version", "config"].contains(&id) {
                    continue;
                }
                let long = arg.get_long().unwrap_or(id);
                if !arg.get_action().takes_values() {
                    text.push_str(&format!("{long} = true\n"));
                    cli.push(format!("--{long}"));
                    continue;
                }
                let value = arg
                    .get_default_values()
                    .first()
                    .map(|v| v.to_string_lossy().into_owned())
                    .or_else(|| sample(id).map(str::to_owned))
                    .unwrap_or_else(|| panic!("no sample value for --{long}: add one"));
                if arg.is_positional() {
                    text.push_str(&format!("{id} = [{value:?}]\n"));
                    positional.push(value);
                } else {
                    text.push_str(&format!("{long} = {value:?}\n"));
                    cli.push(format!("--{long}={value}"));
                }
            }
            let file = dir.path().join(format!("{name}.toml"));
            std::fs::write(&file, &text).unwrap();
            let cfg_arg = format!("--config={}", file.display());
            cli.push(cfg_arg.clone());
            cli.extend(positional);
            let from_file = callguard::config_file::expand(
                &cmd,
                ["callguard", name, &cfg_arg]
                    .iter()
                    .map(Into::into)
                    .collect(),
            )
            .unwrap();
            let a = Cli::try_parse_from(from_file).unwrap_or_else(|e| panic!("{text}: {e}"));
            let b = Cli::try_parse_from(&cli).unwrap_or_else(|e| panic!("{cli:?}: {e}"));
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{text}");
        }
    }

    #[test]
    fn the_shipped_config_example_parses() {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/callguard.toml");
        let args = callguard::config_file::expand(
            &Cli::command(),
            [
                "callguard".into(),
                "live".into(),
                "--config".into(),
                file.into_os_string(),
            ]
            .into(),
        )
        .unwrap();
        let cli = Cli::try_parse_from(args).unwrap();
        let Command::Live(a) = cli.cmd else {
            panic!("live")
        };
        assert_eq!(a.interfaces, ["eth1"]);
        assert_eq!(a.workers, Some(4));
        assert_eq!(a.metrics, Some("127.0.0.1:9477".parse().unwrap()));
    }

    #[test]
    fn the_store_is_saved_whole_by_rename_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("certs.json");
        std::fs::write(&path, "old").unwrap();
        let report = pipeline::Report {
            cert_store: Some(store()),
            ..Default::default()
        };
        save_cert_store(Some(&path), &report).unwrap();
        let back: CertStore =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, store());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["certs.json"]);
        // Nothing to save (no detector keeps a store): the file stays as it is.
        let none = pipeline::Report::default();
        std::fs::write(&path, "kept").unwrap();
        save_cert_store(Some(&path), &none).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept");
        // A directory that does not exist is an error naming the store.
        let bad = dir.path().join("no/such/dir/certs.json");
        let e = save_cert_store(Some(&bad), &report).unwrap_err();
        assert!(format!("{e:#}").contains("certs.json"), "{e:#}");
    }

    #[test]
    fn a_missing_store_starts_empty_and_a_corrupt_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("certs.json");
        assert!(engine_with_store(&Config::default(), Some(&path)).is_ok());
        std::fs::write(
            &path,
            "{\"version\": 1, \"servers\": [{\"server\": \"x\"}]}",
        )
        .unwrap();
        let e = engine_with_store(&Config::default(), Some(&path)).unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("certs.json") && msg.contains("corrupt"),
            "{msg}"
        );
        std::fs::write(&path, serde_json::to_string(&store()).unwrap()).unwrap();
        assert!(engine_with_store(&Config::default(), Some(&path)).is_ok());
    }
}
