//! The `telltale` binary: CLI → config → `app::run`; errors become exit codes
//! (1 runtime failure, 2 bad usage or config).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use telltale::config::{Config, Listen};

/// mimalloc rather than glibc's malloc: a large render allocates and frees tens of MB, and
/// glibc hands that memory back to the kernel after every request (heap trim) only to fault
/// it in again on the next one, which cost a quarter of the CPU of a `sumSeries` over a
/// thousand series (BENCHMARKS.md, issue 5).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "telltale",
    version,
    about = "observability and centralized logging server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (no config file needed: syslog 5514, statsd 8125, Graphite 2003, HTTP 127.0.0.1:8080)
    Serve(ServeArgs),
    /// Search logs on a running server
    Search {
        /// The query, e.g. 'app:sshd AND "Failed password"' (empty or * for everything)
        query: String,
        /// How far back to search: 15min, 1h, 7d... or an absolute time
        #[arg(long, default_value = "24h")]
        since: String,
        /// End of the time range (default now)
        #[arg(long)]
        until: Option<String>,
        /// The server's HTTP address
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Most hits to print
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print each hit as a JSON object
        #[arg(long)]
        json: bool,
    },
    /// Load generator: send syslog lines over TCP and time until all are searchable
    Loadgen {
        /// Syslog TCP address of the server
        #[arg(long, default_value = "127.0.0.1:5514")]
        syslog: String,
        /// HTTP address of the server
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Lines to send
        #[arg(long, default_value_t = 1_000_000)]
        lines: usize,
        /// Parallel TCP connections
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Approximate bytes per line
        #[arg(long, default_value_t = 120)]
        line_bytes: usize,
        /// Give up after this many seconds
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// Then time each benchmark query this many times (p50/p99); 0 skips
        #[arg(long, default_value_t = 0)]
        search_rounds: usize,
        /// Send the lines of this file (cycled) instead of synthetic ones
        #[arg(long)]
        input: Option<PathBuf>,
        /// A query to time (repeatable; defaults fit the synthetic lines)
        #[arg(long = "query")]
        queries: Vec<String>,
        /// Then send this many single lines and time each until searchable
        #[arg(long, default_value_t = 0)]
        latency_probes: usize,
    },
    /// Show what the log rules extract from lines on stdin, and which rule matched
    Parse {
        /// Treat each line as this program's message (otherwise lines are parsed as syslog)
        #[arg(long)]
        app: Option<String>,
        /// Rule directory overlaying the shipped rules (default ./parsers if present)
        #[arg(long)]
        parsers: Option<PathBuf>,
    },
    /// Work on the yearly log archives of a data directory (offline: stop the server to seal)
    Archive {
        /// Data directory (default ./data)
        #[arg(long, global = true, default_value = "data")]
        data_dir: PathBuf,
        /// No progress on stderr (by default a bar on a terminal, else a line every 2 s)
        #[arg(long, short, global = true)]
        quiet: bool,
        #[command(subcommand)]
        command: ArchiveCommand,
    },
    /// Load generator: send Graphite plaintext points over TCP and time until all are written
    LoadgenCarbon {
        /// Graphite plaintext TCP address of the server
        #[arg(long, default_value = "127.0.0.1:2003")]
        carbon: String,
        /// HTTP address of the server
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Points to send
        #[arg(long, default_value_t = 1_000_000)]
        points: usize,
        /// Distinct series (random walks, 2 decimals, 10 s apart)
        #[arg(long, default_value_t = 1000)]
        series: usize,
        /// Parallel TCP connections
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Give up after this many seconds
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum ArchiveCommand {
    /// Seal every day older than the hot window into archive/<year>.zst
    Seal {
        /// Retention policy file
        #[arg(long, default_value = "retention/logs.toml")]
        retention: PathBuf,
        /// Rule directory the server uses (default ./parsers if present): sealed frames omit
        /// the fields these rules re-derive
        #[arg(long)]
        parsers: Option<PathBuf>,
    },
    /// List archived days
    List,
    /// Read back and check every frame of one year or of all years
    Verify { year: Option<i64> },
    /// Search the archives with the log query language
    Search {
        query: String,
        /// Start of the time range (e.g. -30d, 2026-03-01)
        #[arg(long, default_value = "-365d")]
        from: String,
        /// End of the time range
        #[arg(long, default_value = "now")]
        until: String,
        /// Most hits to print
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print each hit as a JSON object
        #[arg(long)]
        json: bool,
    },
    /// Print a day's archived records as JSON lines (every member, in time order)
    Export { day: String },
    /// Re-index an archived day into the hot store (run while the server is stopped)
    Restore { day: String },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML config file (every key optional; flags below override it)
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory (default ./data)
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// HTTP address for the UI and APIs, or off (default 127.0.0.1:8080)
    #[arg(long, value_name = "ADDR")]
    http: Option<Listen>,
    /// Syslog UDP+TCP address, or off (default 0.0.0.0:5514)
    #[arg(long, value_name = "ADDR")]
    syslog: Option<Listen>,
    /// statsd UDP (+TCP) address, or off (default 0.0.0.0:8125)
    #[arg(long, value_name = "ADDR")]
    statsd: Option<Listen>,
    /// Graphite plaintext TCP+UDP address, or off (default 0.0.0.0:2003)
    #[arg(long, value_name = "ADDR")]
    carbon: Option<Listen>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(a) => serve(a),
        Command::Search {
            query,
            since,
            until,
            server,
            limit,
            json,
        } => {
            // `--since 1h` reads naturally; the API wants `-1h`
            let from = relative_to_past(since);
            let until = until.unwrap_or_else(|| "now".into());
            match telltale::cli::search(&server, &query, &from, &until, limit) {
                Ok(v) => {
                    telltale::cli::print_hits(&v, json);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("telltale search: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Loadgen {
            syslog,
            server,
            lines,
            connections,
            line_bytes,
            timeout,
            search_rounds,
            input,
            queries,
            latency_probes,
        } => {
            let o = telltale::cli::LoadgenOptions {
                syslog,
                server,
                lines,
                connections,
                line_bytes,
                timeout: Duration::from_secs(timeout),
                search_rounds,
                input,
                queries,
                latency_probes,
            };
            match telltale::cli::loadgen(&o) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("telltale loadgen: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Parse { app, parsers } => {
            let (n, errors) = telltale::normalize::Normalizer::with_errors(
                parsers
                    .as_deref()
                    .or_else(|| Some(std::path::Path::new("parsers")).filter(|p| p.is_dir())),
            );
            for e in &errors {
                eprintln!("telltale parse: {e}");
            }
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            match telltale::cli::parse_lines(stdin.lock(), stdout.lock(), app.as_deref(), &n) {
                Ok((lines, matched)) => {
                    eprintln!("{matched} of {lines} lines matched a rule");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("telltale parse: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Archive {
            data_dir,
            quiet,
            command,
        } => archive(&data_dir, quiet, command),
        Command::LoadgenCarbon {
            carbon,
            server,
            points,
            series,
            connections,
            timeout,
        } => {
            let o = telltale::cli::CarbonLoadOptions {
                carbon,
                server,
                points,
                series,
                connections,
                timeout: Duration::from_secs(timeout),
            };
            match telltale::cli::carbon_load(&o) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("telltale loadgen-carbon: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn archive(data_dir: &std::path::Path, quiet: bool, command: ArchiveCommand) -> ExitCode {
    use telltale::cli::archive as a;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let r = match command {
        ArchiveCommand::Seal { retention, parsers } => {
            a::seal(data_dir, &retention, parsers.as_deref(), quiet, &mut out)
        }
        ArchiveCommand::List => a::list(data_dir, &mut out),
        ArchiveCommand::Verify { year } => a::verify(data_dir, year, quiet, &mut out),
        ArchiveCommand::Search {
            query,
            from,
            until,
            limit,
            json,
        } => a::search(
            data_dir, &query, &from, &until, limit, json, quiet, &mut out,
        )
        .map(|_| ()),
        ArchiveCommand::Export { day } => a::export(data_dir, &day, quiet, &mut out).map(|_| ()),
        ArchiveCommand::Restore { day } => a::restore(data_dir, &day, quiet, &mut out).map(|_| ()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("telltale archive: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn serve(a: ServeArgs) -> ExitCode {
    let mut cfg = match Config::load(a.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("telltale: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(d) = a.data_dir {
        cfg.data_dir = d;
    }
    if let Some(l) = a.http {
        cfg.http.listen = l;
    }
    if let Some(l) = a.syslog {
        cfg.syslog.listen = l;
    }
    if let Some(l) = a.statsd {
        cfg.statsd.listen = l;
    }
    if let Some(l) = a.carbon {
        cfg.carbon.listen = l;
    }
    if let Err(e) = cfg.validate() {
        eprintln!("telltale: {e}");
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("telltale: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(telltale::app::run(cfg, telltale::app::shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("telltale: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `--since 1h` reads naturally; the API wants `-1h`. Only a bare number-with-unit gets the
/// minus: epoch seconds, RFC 3339 and `-1h` itself pass through unchanged.
fn relative_to_past(since: String) -> String {
    let digits = since.bytes().take_while(u8::is_ascii_digit).count();
    let unit = &since[digits..];
    if digits > 0 && !unit.is_empty() && unit.bytes().all(|b| b.is_ascii_alphabetic()) {
        format!("-{since}")
    } else {
        since
    }
}
