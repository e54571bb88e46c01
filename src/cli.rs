//! Command-line clients of a running server: `telltale search` and `telltale loadgen`.
//! They speak plain HTTP/1.1 over `std::net` (one request per connection): enough for a
//! loopback or LAN server, and no HTTP client stack to compile.

pub mod archive;
pub mod progress;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// `http://host:port` → `host:port` (no TLS, no path).
fn authority(server: &str) -> anyhow::Result<&str> {
    let rest = server.strip_prefix("http://").unwrap_or(server);
    let auth = rest.split('/').next().unwrap_or(rest);
    if auth.is_empty() {
        bail!("--server '{server}' has no host: use http://HOST:PORT");
    }
    Ok(auth)
}

/// Percent-encodes a query-string value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// GETs `path` and returns (status, body).
pub fn http_get(server: &str, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    let auth = authority(server)?;
    let mut s = TcpStream::connect(auth).with_context(|| format!("cannot connect to {server}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {auth}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
    )?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let head_end = memchr::memmem::find(&resp, b"\r\n\r\n")
        .context("malformed HTTP response: no end of headers")?;
    let head = String::from_utf8_lossy(&resp[..head_end]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP status line")?;
    let mut body = resp[head_end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body)?;
    }
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = memchr::memmem::find(b, b"\r\n").context("bad chunked body")?;
        let size_str = std::str::from_utf8(&b[..eol])?;
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size + 2 {
            bail!("truncated chunked body");
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// Runs a search against the server and returns the parsed JSON answer.
pub fn search(
    server: &str,
    query: &str,
    from: &str,
    until: &str,
    limit: usize,
) -> anyhow::Result<serde_json::Value> {
    let path = format!(
        "/api/logs/search?q={}&from={}&until={}&limit={limit}",
        urlencode(query),
        urlencode(from),
        urlencode(until)
    );
    let (status, body) = http_get(server, &path)?;
    let v: serde_json::Value = serde_json::from_slice(&body)
        .with_context(|| format!("server answered {status} with a non-JSON body"))?;
    if status != 200 {
        let msg = v.get("error").and_then(|e| e.as_str()).unwrap_or("");
        bail!("server answered {status}: {msg}");
    }
    Ok(v)
}

/// Prints hits the way `tail` of a syslog file would look, oldest last.
pub fn print_hits(v: &serde_json::Value, json: bool) {
    let hits = v
        .get("hits")
        .and_then(|h| h.as_array())
        .cloned()
        .unwrap_or_default();
    for h in &hits {
        if json {
            println!("{h}");
            continue;
        }
        let s = |k: &str| h.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let pid = s("pid");
        let tag = if pid.is_empty() {
            s("app")
        } else {
            format!("{}[{pid}]", s("app"))
        };
        println!(
            "{} {} {} {}: {}",
            s("timestamp"),
            s("severity"),
            s("host"),
            tag,
            s("message")
        );
    }
    let total = v.get("total").and_then(|t| t.as_u64()).unwrap_or(0);
    eprintln!("{} of {total} matches shown", hits.len());
}

/// Options of `telltale loadgen`.
pub struct LoadgenOptions {
    pub syslog: String,
    pub server: String,
    pub lines: usize,
    pub connections: usize,
    pub line_bytes: usize,
    pub timeout: Duration,
    /// After ingesting, time each benchmark query this many times (0 = skip).
    pub search_rounds: usize,
    /// Send these lines (cycled) instead of synthetic ones; `<13>` is prefixed when a line
    /// has no PRI.
    pub input: Option<std::path::PathBuf>,
    /// Queries to time (default: ones that fit the synthetic lines).
    pub queries: Vec<String>,
    /// After the load, send this many single lines one at a time and time each until a
    /// search finds it (the "searchable within 2 s" promise).
    pub latency_probes: usize,
}

/// Sends `lines` RFC 3164 lines of about `line_bytes` bytes over TCP, then polls search until
/// every line is searchable. The lines are built before the clock starts, so the generator's
/// own cost is a few memcpy per line. Prints one summary line.
pub fn loadgen(o: &LoadgenOptions) -> anyhow::Result<()> {
    let run = format!("run{}", std::process::id());
    // "searchable" = committed: the writer reloads readers before it counts a commit
    let before = committed(&o.server)?;
    let input: Vec<Vec<u8>> = match &o.input {
        None => Vec::new(),
        Some(p) => std::fs::read(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .filter(|l| !l.is_empty())
            .map(|l| {
                let mut v = Vec::with_capacity(l.len() + 5);
                if !l.starts_with(b"<") {
                    v.extend_from_slice(b"<13>");
                }
                v.extend_from_slice(l);
                v.push(b'\n');
                v
            })
            .collect(),
    };
    let per_conn = o.lines.div_ceil(o.connections.max(1));
    let mut payloads = Vec::new();
    let mut sent = 0usize;
    let apps = [
        "sshd",
        "nginx",
        "postfix/smtpd",
        "CRON",
        "kernel",
        "php-fpm",
    ];
    let mut raw_bytes = 0usize;
    // today's date in RFC 3164 form, so the lines land in the day `-1d` searches
    let now = crate::model::time::now_ns();
    let (_, month, day) = crate::model::time::civil_from_days(crate::model::time::day_of_ns(now));
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mon = MONTHS[(month as usize).saturating_sub(1) % 12];
    let secs_today = (now.rem_euclid(crate::model::time::NS_PER_DAY) / 1_000_000_000) as usize;
    for c in 0..o.connections.max(1) {
        let mut buf = Vec::with_capacity(per_conn * (o.line_bytes + 8));
        for _ in 0..per_conn {
            if sent == o.lines {
                break;
            }
            if !input.is_empty() {
                buf.extend_from_slice(&input[sent % input.len()]);
                sent += 1;
                continue;
            }
            let app = apps[(sent) % apps.len()];
            let head = format!(
                "<38>{mon} {day:>2} {:02}:{:02}:{:02} web{} {app}[{}]: {run} request {} from 10.{}.{}.{} took {}ms",
                secs_today / 3600,
                (secs_today / 60) % 60,
                secs_today % 60,
                sent % 50,
                1000 + c,
                sent,
                sent % 256,
                (sent / 256) % 256,
                sent % 7,
                sent % 977
            );
            buf.extend_from_slice(head.as_bytes());
            let pad = o.line_bytes.saturating_sub(head.len() + 1);
            for k in 0..pad {
                buf.push(b"status ok user alice bytes 1234 "[k % 32]);
            }
            buf.push(b'\n');
            sent += 1;
        }
        raw_bytes += buf.len();
        payloads.push(buf);
    }
    let start = Instant::now();
    send_streams(&o.syslog, payloads)?;
    let sent_at = start.elapsed();
    loop {
        let n = committed(&o.server)?.saturating_sub(before);
        if n >= sent as u64 {
            break;
        }
        if start.elapsed() > o.timeout {
            bail!("only {n} of {sent} lines searchable after {:?}", o.timeout);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let all = start.elapsed();
    println!(
        "loadgen lines={sent} bytes={raw_bytes} avg_line={:.0} conns={} send_s={:.3} searchable_s={:.3} lines_per_s={:.0} mb_per_s={:.1}",
        raw_bytes as f64 / sent as f64,
        o.connections,
        sent_at.as_secs_f64(),
        all.as_secs_f64(),
        sent as f64 / all.as_secs_f64(),
        raw_bytes as f64 / all.as_secs_f64() / 1e6
    );
    if o.latency_probes > 0 {
        let mut lat = Vec::new();
        for i in 0..o.latency_probes {
            let token = format!("probe{}x{i}", std::process::id());
            let t = Instant::now();
            let mut s = TcpStream::connect(&o.syslog)?;
            s.write_all(
                format!("<13>{mon} {day:>2} 00:00:00 probehost probe: {token}\n").as_bytes(),
            )?;
            drop(s);
            loop {
                let v = search(&o.server, &token, "", "", 0)?;
                if v.get("total").and_then(|t| t.as_u64()).unwrap_or(0) > 0 {
                    break;
                }
                if t.elapsed() > Duration::from_secs(30) {
                    bail!("probe line {token} not searchable after 30 s");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            // spread probes over the commit cycle
            std::thread::sleep(Duration::from_millis(137));
        }
        lat.sort_by(f64::total_cmp);
        println!(
            "latency probes={} p50_ms={:.0} max_ms={:.0}",
            lat.len(),
            lat[lat.len() / 2],
            lat[lat.len() - 1]
        );
    }
    if o.search_rounds > 0 {
        // a rare term, one host of 50, one app of 6, and every line of the run
        let rare = format!("request {}", sent / 2);
        let queries = if !o.queries.is_empty() {
            o.queries.clone()
        } else {
            vec![
                format!("\"{rare}\""),
                "host:web7".to_string(),
                "app:sshd AND took".to_string(),
                run.clone(),
            ]
        };
        let from = if input.is_empty() { "-1d" } else { "" };
        for q in &queries {
            let mut lat = Vec::with_capacity(o.search_rounds);
            let mut total = 0;
            for _ in 0..o.search_rounds {
                let t = Instant::now();
                let v = search(&o.server, q, from, "", 100)?;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                total = v.get("total").and_then(|t| t.as_u64()).unwrap_or(0);
            }
            lat.sort_by(f64::total_cmp);
            let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
            let shown = if *q == run {
                "<run tag: every line>"
            } else {
                q.as_str()
            };
            println!(
                "search q={shown:?} matches={total} rounds={} p50_ms={:.2} p99_ms={:.2}",
                lat.len(),
                pct(0.5),
                pct(0.99)
            );
        }
    }
    Ok(())
}

/// Sends each payload over its own TCP connection (one thread each, 1 MiB writes), half-closes
/// and waits for the server to close: then the server has read every byte.
fn send_streams(addr: &str, payloads: Vec<Vec<u8>>) -> anyhow::Result<()> {
    let mut handles = Vec::new();
    for p in payloads {
        let addr = addr.to_string();
        handles.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let mut s =
                TcpStream::connect(&addr).with_context(|| format!("cannot connect to {addr}"))?;
            for chunk in p.chunks(1 << 20) {
                s.write_all(chunk)?;
            }
            s.shutdown(std::net::Shutdown::Write)?;
            let mut sink = [0u8; 64];
            let _ = s.read(&mut sink);
            Ok(())
        }));
    }
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("a sender thread panicked"))??;
    }
    Ok(())
}

/// The server's count of committed (and so searchable) records.
fn committed(server: &str) -> anyhow::Result<u64> {
    counter(server, "logs_committed")
}

/// One of the server's own counters from `/metrics` (name without prefix and suffix).
pub fn counter(server: &str, name: &str) -> anyhow::Result<u64> {
    let (status, body) = http_get(server, "/metrics")?;
    if status != 200 {
        bail!("/metrics answered {status}");
    }
    let key = format!("telltale_{name}_total ");
    String::from_utf8_lossy(&body)
        .lines()
        .find_map(|l| l.strip_prefix(key.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no telltale_{name}_total in /metrics"))
}

/// Options of `telltale loadgen-carbon`.
pub struct CarbonLoadOptions {
    pub carbon: String,
    pub server: String,
    pub points: usize,
    pub series: usize,
    pub connections: usize,
    pub timeout: Duration,
}

/// Sends `points` Graphite plaintext lines spread over `series` random-walk series (10 s
/// apart, ending now, 2 decimals) over TCP, then polls until the server has written them all
/// (written points are queryable). The payload is built before the clock starts.
pub fn carbon_load(o: &CarbonLoadOptions) -> anyhow::Result<()> {
    let before = counter(&o.server, "metric_points_written")?;
    let series = o.series.max(1);
    let per_series = o.points.div_ceil(series);
    let now = crate::model::time::now_ns() / 1_000_000_000;
    let conns = o.connections.max(1);
    let mut payloads = vec![Vec::new(); conns];
    let mut sent = 0usize;
    // xorshift: deterministic, no dependency
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut walk = vec![100.0f64; series];
    'outer: for k in 0..per_series {
        let ts = now - 10 * (per_series - k) as i64;
        for (s, w) in walk.iter_mut().enumerate() {
            if sent == o.points {
                break 'outer;
            }
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            *w += ((rng % 201) as f64 - 100.0) / 100.0;
            let line = format!("bench.host{}.metric{} {:.2} {ts}\n", s / 100, s % 100, *w);
            payloads[s % conns].extend_from_slice(line.as_bytes());
            sent += 1;
        }
    }
    let bytes: usize = payloads.iter().map(Vec::len).sum();
    let start = Instant::now();
    send_streams(&o.carbon, payloads)?;
    let sent_at = start.elapsed();
    loop {
        let n = counter(&o.server, "metric_points_written")?.saturating_sub(before);
        if n >= sent as u64 {
            break;
        }
        if start.elapsed() > o.timeout {
            bail!("only {n} of {sent} points written after {:?}", o.timeout);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let all = start.elapsed();
    println!(
        "carbon points={sent} series={series} bytes={bytes} conns={conns} send_s={:.3} queryable_s={:.3} points_per_s={:.0}",
        sent_at.as_secs_f64(),
        all.as_secs_f64(),
        sent as f64 / all.as_secs_f64()
    );
    Ok(())
}

/// `telltale parse`: the grok-debugger workflow offline. Each input line is run through the
/// rules (as the message of `app` when given, else parsed as a syslog line for its app and
/// message), and one output line says which rule matched and what it extracted. Returns
/// (lines, matched).
pub fn parse_lines(
    input: impl std::io::BufRead,
    mut out: impl Write,
    app: Option<&str>,
    normalizer: &crate::normalize::Normalizer,
) -> anyhow::Result<(usize, usize)> {
    use crate::model::{LogRecord, RawMessage, SEVERITY_NAMES, Transport};
    let (mut lines, mut matched) = (0, 0);
    for line in input.split(b'\n') {
        let line = line?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.is_empty() {
            continue;
        }
        lines += 1;
        let mut rec = match app {
            Some(app) => LogRecord {
                app: app.to_string(),
                message: String::from_utf8_lossy(line).into_owned(),
                ..LogRecord::default()
            },
            None => {
                let mut bytes = Vec::with_capacity(line.len() + 4);
                if !line.starts_with(b"<") {
                    bytes.extend_from_slice(b"<13>");
                }
                bytes.extend_from_slice(line);
                crate::ingest::syslog::parse(&RawMessage {
                    received_ns: crate::model::time::now_ns(),
                    peer: None,
                    transport: Transport::Tcp,
                    bytes,
                    truncated: false,
                })
            }
        };
        rec.fields.clear();
        match normalizer.apply(&mut rec) {
            Some(m) => {
                matched += 1;
                let rule = &normalizer.rules().rules()[m.rule];
                let fields: Vec<String> =
                    rec.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let sev = m
                    .severity
                    .and_then(|s| SEVERITY_NAMES.get(usize::from(s)))
                    .map(|s| format!(" severity={s}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{lines}: app={} rule={}:{}{sev} {}",
                    rec.app,
                    rule.file,
                    rule.name,
                    fields.join(" ")
                )?;
            }
            None => writeln!(out, "{lines}: app={} no rule matched", rec.app)?,
        }
    }
    Ok((lines, matched))
}
