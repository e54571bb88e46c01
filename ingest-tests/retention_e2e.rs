//! Issue 7, operations: the disk floor pauses ingestion on real sockets and resumes it, and
//! `retention/logs.toml` is reloaded without a restart (file change and SIGHUP), keeping the
//! previous policy when the new file is invalid.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::Server;

fn health(s: &Server) -> String {
    let (status, body) = s.get("/health");
    assert_eq!(status, 200);
    String::from_utf8_lossy(&body).into_owned()
}

fn wait_for(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Copies `from`'s modification time onto `to` (so only SIGHUP can notice a change).
fn touch_like(to: &Path, from: &Path) {
    let st = Command::new("touch")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .expect("touch");
    assert!(st.success());
}

#[test]
fn issue7_the_disk_floor_holds_tcp_counts_udp_and_a_reload_resumes() {
    // a floor of 100% of the filesystem is never met: ingestion pauses at the first probe
    let (s, policy) = Server::start_paused("");
    assert!(
        health(&s).contains("below the disk floor"),
        "{}",
        health(&s)
    );
    let (_, metrics) = s.get("/metrics");
    assert!(String::from_utf8_lossy(&metrics).contains("telltale_ingest_paused 1"));

    // TCP: written into the socket while paused, not read
    let mut tcp = TcpStream::connect(s.syslog).expect("connect");
    // dated now: the reloaded policy below keeps only today hot
    let now = telltale::model::time::format_rfc3339(telltale::model::time::now_ns());
    let mut payload = Vec::new();
    for i in 0..50 {
        writeln!(payload, "<13>1 {now} web1 app - - - held back line {i}").expect("vec");
    }
    tcp.write_all(&payload).expect("write");
    // UDP: dropped and counted
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for i in 0..10 {
        udp.send_to(
            format!("<13>1 {now} web1 app - - - dropped datagram {i}").as_bytes(),
            s.syslog,
        )
        .expect("send");
    }
    // Graphite plaintext too: TCP held, UDP dropped and counted
    let secs = telltale::model::time::now_ns() / 1_000_000_000;
    let mut carbon = TcpStream::connect(s.carbon).expect("connect carbon");
    writeln!(carbon, "floor.tcp 42 {secs}").expect("write carbon");
    for _ in 0..5 {
        udp.send_to(format!("floor.udp 1 {secs}\n").as_bytes(), s.carbon)
            .expect("send");
    }
    assert_eq!(
        s.wait_counter("syslog_udp_dropped_disk_floor", 10, Duration::from_secs(30)),
        10
    );
    assert_eq!(
        s.wait_counter("carbon_udp_dropped_disk_floor", 5, Duration::from_secs(30)),
        5
    );
    assert_eq!(s.counter("syslog_tcp_received"), 0, "paused TCP was read");
    let points = |target: &str| {
        s.render(&format!("target={target}&from=-10min"))
            .as_array()
            .expect("series")
            .iter()
            .flat_map(|series| series["datapoints"].as_array().cloned().unwrap_or_default())
            .filter(|p| !p[0].is_null())
            .count()
    };
    assert_eq!(points("floor.tcp"), 0, "paused carbon TCP was read");
    assert_eq!(s.counter("disk_floor_pauses"), 1);
    assert!(s.log().contains("ingestion paused"), "{}", s.log());
    // the event is a searchable record too
    assert!(s.wait_total("app:telltale paused", 1, Duration::from_secs(30)) >= 1);

    // an invalid file (noticed by its change) is reported with its line; the floor stays
    let invalid = "disk_floor = \"off\"\nhot_dayz = 1\n";
    std::fs::write(&policy, invalid).expect("write");
    wait_for("the reload error", Duration::from_secs(30), || {
        s.log().contains("logs.toml:2: unknown field `hot_dayz`")
    });
    assert!(s.log().contains("keeping the previous retention policy"));
    assert!(health(&s).contains("disk_floor: paused"));

    // a valid file of the same size and modification time: only SIGHUP can bring it in
    let stamp = policy.with_file_name("stamp");
    std::fs::write(&stamp, "").expect("stamp");
    touch_like(&stamp, &policy);
    let valid = "disk_floor = \"off\"\nhot_days = 1\n";
    assert_eq!(valid.len(), invalid.len());
    std::fs::write(&policy, valid).expect("write");
    touch_like(&policy, &stamp);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        health(&s).contains("disk_floor: paused"),
        "resumed without a reload"
    );
    s.signal("HUP");
    wait_for("the resume", Duration::from_secs(30), || {
        !health(&s).contains("paused")
    });
    assert!(s.log().contains("ingestion resumed"), "{}", s.log());
    // every held TCP line arrives, from the same connection
    assert_eq!(
        s.wait_total("held back", 50, Duration::from_secs(30)),
        50,
        "{}",
        s.log()
    );
    assert_eq!(s.search("dropped datagram", "limit=0")["total"], 0);
    wait_for("the held carbon point", Duration::from_secs(30), || {
        points("floor.tcp") == 1
    });
    assert_eq!(points("floor.udp"), 0);
    udp.send_to(
        format!("<13>1 {now} web1 app - - - datagram after resume").as_bytes(),
        s.syslog,
    )
    .expect("send");
    assert_eq!(s.wait_total("after resume", 1, Duration::from_secs(30)), 1);
    assert_eq!(s.counter("syslog_udp_dropped_disk_floor"), 10);
}

/// statsd obeys the disk floor like syslog: datagrams that arrive while paused are dropped and
/// counted, a TCP connection is not read until the floor is lowered by a reload, and then what
/// it was sent is aggregated and flushed into the store.
#[test]
fn issue7_the_disk_floor_holds_statsd_tcp_and_counts_statsd_udp() {
    // idle stats deleted: a later empty flush cannot overwrite the one with data
    let (s, policy) =
        Server::start_paused("[statsd]\nflush_interval_ms = 500\ndelete_idle_stats = true\n");
    let mut tcp = TcpStream::connect(s.statsd).expect("connect statsd");
    tcp.write_all(b"floor.statsd.tcp:7|c\n").expect("write");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for _ in 0..4 {
        udp.send_to(b"floor.statsd.udp:1|c", s.statsd)
            .expect("send");
    }
    assert_eq!(
        s.wait_counter("statsd_udp_dropped_disk_floor", 4, Duration::from_secs(30)),
        4
    );
    assert_eq!(s.counter("statsd_tcp_connections"), 1);
    assert_eq!(
        s.counter("statsd_tcp_received"),
        0,
        "paused statsd TCP was read"
    );
    let values = |target: &str| -> Vec<f64> {
        s.render(&format!("target={target}&from=-10min"))
            .as_array()
            .expect("series")
            .iter()
            .flat_map(|series| series["datapoints"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p[0].as_f64())
            .collect()
    };
    assert!(values("stats_counts.floor.statsd.tcp").is_empty());

    s.lower_floor(&policy);
    // the held line, read from the same connection, is flushed into the store
    wait_for("the held statsd counter", Duration::from_secs(30), || {
        values("stats_counts.floor.statsd.tcp") == [7.0]
    });
    assert_eq!(s.counter("statsd_tcp_received"), 1);
    udp.send_to(b"floor.statsd.after:2|c", s.statsd)
        .expect("send");
    wait_for(
        "a datagram after the resume",
        Duration::from_secs(30),
        || values("stats_counts.floor.statsd.after") == [2.0],
    );
    // the dropped datagrams never became a series
    assert!(values("stats_counts.floor.statsd.udp").is_empty());
    assert_eq!(s.counter("statsd_udp_dropped_disk_floor"), 4);
    let (_, metrics) = s.get("/metrics");
    assert!(
        String::from_utf8_lossy(&metrics)
            .contains("telltale_statsd_udp_dropped_disk_floor_total 4")
    );
}

/// Decodes a chunked HTTP/1.1 body.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..nl]).expect("ascii").trim(), 16)
                .expect("hex size");
        body = &body[nl + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// A changed hot window is applied by the running server (the file is re-read and the writer
/// seals at once), and `stream=1` streams the archive search's progress, then its hits, then a
/// summary, as NDJSON over chunked transfer on a real socket; the plain API is unchanged.
#[test]
fn issue7_a_reloaded_hot_window_seals_at_once_and_search_streams_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("logs.toml");
    std::fs::write(&policy, "hot_days = 400\n").expect("write policy");
    let s = Server::start(&format!(
        "[logs]\nretention = {:?}\n",
        policy.display().to_string()
    ));
    let today = telltale::model::time::day_of_ns(telltale::model::time::now_ns());
    let mut payload = Vec::new();
    for back in [40, 41, 42] {
        let day = telltale::model::time::format_day(today - back);
        for i in 0..100 {
            writeln!(
                payload,
                "<13>1 {day}T10:00:{:02}Z web{} app - - - streamed line {back} {i}",
                i % 60,
                i % 2
            )
            .expect("vec");
        }
    }
    s.send_tcp(&payload);
    assert_eq!(s.wait_total("streamed", 300, Duration::from_secs(30)), 300);
    assert!(!s.data_dir.join("archive").exists());
    // a 30-day window now: the three days are sealed without a restart
    std::fs::write(&policy, "hot_days = 30\n").expect("write policy");
    wait_for("the seal", Duration::from_secs(30), || {
        (40..=42).all(|b| {
            !s.data_dir
                .join("logs")
                .join(telltale::model::time::format_day(today - b))
                .exists()
        })
    });

    let mut conn = stream_search(&s.http, "streamed host:web1");
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut conn, &mut raw).expect("response");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(
        head.contains("content-type: application/x-ndjson"),
        "{head}"
    );
    let body = dechunk(&raw[split + 4..]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&body)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let progress: Vec<&serde_json::Value> =
        lines.iter().filter_map(|l| l.get("progress")).collect();
    // one frame per sealed day, each reported once it is read
    assert_eq!(progress.len(), 3, "{lines:?}");
    assert!(progress.iter().all(|p| p["frames_total"] == 3));
    assert_eq!(progress[2]["frames_done"], 3);
    assert_eq!(progress[2]["bytes_done"], progress[2]["bytes_total"]);
    let first_hit = lines
        .iter()
        .position(|l| l.get("hit").is_some())
        .expect("hits");
    assert!(first_hit >= 3, "progress comes before hits");
    let hits: Vec<&serde_json::Value> = lines.iter().filter_map(|l| l.get("hit")).collect();
    assert_eq!(hits.len(), 5);
    assert!(
        hits.iter()
            .all(|h| h["archived"] == true && h["host"] == "web1")
    );
    let summary = lines.last().expect("summary");
    assert_eq!(summary["total"], 150, "{summary}");
    assert_eq!(summary["frames_read"], 3, "{summary}");
    // the plain API answers the same, as one JSON object
    let plain = s.search("streamed host:web1", "from=-90d&limit=5");
    assert_eq!(plain["total"], 150);
    assert_eq!(
        plain["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .collect::<Vec<_>>(),
        hits
    );
}

/// `telltale archive` reports progress from the work on stderr: plain lines when stderr is not
/// a terminal (here, a pipe), ending at 100% of the real frame or day count; `--quiet` is
/// silent; stdout carries only the results.
#[test]
fn issue7_archive_commands_report_progress_on_stderr_and_quiet_silences_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let day = telltale::model::time::format_day(
        telltale::model::time::day_of_ns(telltale::model::time::now_ns()) - 60,
    );
    {
        let mut s = Server::start_in(&data, "");
        let mut payload = Vec::new();
        for i in 0..200 {
            writeln!(
                payload,
                "<13>1 {day}T10:00:00Z web1 app - - - progress line {i}"
            )
            .expect("vec");
        }
        s.send_tcp(&payload);
        assert_eq!(s.wait_total("progress", 200, Duration::from_secs(30)), 200);
        assert!(s.sigterm().success());
    }
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_telltale"))
            .arg("archive")
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .expect("run telltale archive");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let none = tmp.path().join("none.toml");
    let none = none.to_str().expect("utf-8 path");
    let (out, err) = run(&["seal", "--retention", none]);
    assert!(out.contains(&format!("{day}: 200 records")), "{out}");
    assert!(
        err.contains("seal [") && err.contains("100% 1/1 days"),
        "{err}"
    );
    let year = &day[..4];
    let (out, err) = run(&["verify"]);
    assert!(out.contains("200 records ok"), "{out}");
    assert!(
        err.lines().last().is_some_and(
            |l| l.starts_with(&format!("verify {year} [")) && l.contains("100% 1/1 frames")
        ),
        "{err}"
    );
    assert!(!err.contains('\r'), "no bar redraws into a pipe: {err:?}");
    let (out, err) = run(&["search", "progress", "--from=-90d", "--limit", "1"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        err.contains("search [") && err.contains("100% 1/1 frames"),
        "{err}"
    );
    let (out, err) = run(&["export", &day]);
    assert_eq!(out.lines().count(), 200);
    assert!(err.contains("100% 1/1 frames"), "{err}");
    // --quiet: nothing on stderr, the same results on stdout
    for args in [
        vec!["verify", "--quiet"],
        vec!["search", "progress", "--from=-90d", "-q"],
        vec!["export", &day, "--quiet"],
    ] {
        let (out, err) = run(&args);
        assert!(!out.is_empty(), "{args:?}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
    let (out, err) = run(&["restore", &day]);
    assert!(out.contains("200 records restored"), "{out}");
    assert!(
        err.contains("restore ") && err.contains("100% 1/1 frames"),
        "{err}"
    );
}

/// `[apps.NAME] hot_days` keeps that app's records of an old day hot while the rest of the
/// day is sealed, with a sealing process killed at each step on the way: afterwards every
/// line is found exactly once, the kept app's in the hot store, the rest flagged archived.
#[test]
fn issue7_an_app_override_keeps_its_lines_hot_through_a_crashed_seal() {
    for step in ["frames-written", "index-torn", "indexed"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let day = telltale::model::time::format_day(
            telltale::model::time::day_of_ns(telltale::model::time::now_ns()) - 60,
        );
        // the server runs under the same policy (it seals at start-up and hourly)
        let policy = tmp.path().join("logs.toml");
        std::fs::write(&policy, "hot_days = 30\n[apps.sshd]\nhot_days = 90\n").expect("policy");
        let mut s = Server::start_in(
            &data,
            &format!("[logs]\nretention = {:?}\n", policy.display().to_string()),
        );
        let mut payload = Vec::new();
        for i in 0..100 {
            let app = if i % 4 == 0 { "sshd" } else { "nginx" };
            writeln!(
                payload,
                "<13>1 {day}T10:00:{:02}Z web1 {app} - - - override line {i}",
                i % 60
            )
            .expect("vec");
        }
        s.send_tcp(&payload);
        assert_eq!(s.wait_total("override", 100, Duration::from_secs(30)), 100);
        assert!(s.sigterm().success());

        let seal = |crash: Option<&str>| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_telltale"));
            c.args(["archive", "seal", "--quiet", "--data-dir"])
                .arg(&data)
                .arg("--retention")
                .arg(&policy);
            match crash {
                Some(step) => c.env("TELLTALE_CRASH_AT", step),
                None => c.env_remove("TELLTALE_CRASH_AT"),
            };
            c.output().expect("run seal")
        };
        assert!(!seal(Some(step)).status.success(), "{step}: should abort");
        let ok = seal(None);
        assert!(ok.status.success(), "{step}");
        let out = String::from_utf8_lossy(&ok.stdout);
        assert!(out.contains("25 kept hot by an override"), "{step}: {out}");
        assert!(
            data.join("logs")
                .join(&day)
                .join("partly-archived")
                .exists()
        );

        s.restart();
        // the hot store alone (no start time: archives are not read) has the sshd lines
        let hot = s.search("override", "limit=1000");
        assert_eq!(hot["total"], 25, "{step}: {hot}");
        assert!(
            hot["hits"]
                .as_array()
                .expect("hits")
                .iter()
                .all(|h| h["app"] == "sshd" && h.get("archived").is_none())
        );
        // with the archive: every line once, nginx's flagged archived
        let all = s.search("override", "from=-90d&limit=1000");
        assert_eq!(all["total"], 100, "{step}: {all}");
        let mut seen: Vec<String> = all["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|h| {
                assert_eq!(h["archived"] == true, h["app"] == "nginx", "{h}");
                h["message"].as_str().expect("message").to_string()
            })
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 100, "{step}: each line exactly once");
    }
}

/// Frames of the archive the cancelled search scans: their progress lines (about 100 bytes
/// each) must be more than every buffer between the search and a client that stopped reading
/// can hold (the response channel, hyper's write queue, and the loopback socket buffers, a few
/// MB at most: 4.3 MB here with Linux's default tcp_wmem), so the search, which goes no faster
/// than the client reads, cannot finish before the server sees the client is gone.
const CANCEL_FRAMES: usize = 60_000;

/// Issue 7, streamed search: a client that reads the first progress line and disconnects stops
/// the archive scan; the server counts it and logs how far it got, short of the whole archive.
#[test]
fn issue7_a_streamed_search_stops_when_its_client_goes_away() {
    use telltale::model::time::{NS_PER_DAY, civil_from_days, day_of_ns, now_ns};
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    // an archive of one-record frames, written as the sealer writes them
    let day = day_of_ns(now_ns()) - 60;
    let records: Vec<telltale::model::LogRecord> = (0..CANCEL_FRAMES)
        .map(|i| {
            let ts = day * NS_PER_DAY + i as i64 * 1_000_000;
            let message = format!("cancelled scan line {i}");
            telltale::model::LogRecord {
                timestamp_ns: ts,
                received_ns: ts,
                host: "web1".into(),
                app: "app".into(),
                raw: message.clone().into_bytes(),
                message,
                ..Default::default()
            }
        })
        .collect();
    let mut year = telltale::store::logs::archive::YearArchive::open(
        &data.join("archive"),
        civil_from_days(day).0,
    )
    .expect("open archive");
    year.options.frame_max_records = 1;
    let entries = year.append_day(day, &records, 1, None).expect("append day");
    assert_eq!(entries.len(), CANCEL_FRAMES);
    drop((year, records));
    let s = Server::start_in(&data, "");

    let mut conn = stream_search(&s.http, "cancelled");
    // the head, then the first chunk: one progress line
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !String::from_utf8_lossy(&got).contains("\"progress\"") {
        let n = std::io::Read::read(&mut conn, &mut buf).expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200"));
    drop(conn);

    assert_eq!(
        s.wait_counter("search_cancelled", 1, Duration::from_secs(60)),
        1,
        "{}",
        s.log()
    );
    let log = s.log();
    let stopped = log
        .lines()
        .find_map(|l| l.split("streamed search stopped after ").nth(1))
        .expect("the cancel is logged");
    let read: usize = stopped
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("frames read");
    assert!(
        stopped.contains(&format!("of {CANCEL_FRAMES} archive frames")),
        "{stopped}"
    );
    assert!(read < CANCEL_FRAMES, "{stopped}");

    // a plain (not streamed) search whose client hangs up before the answer stops too (a
    // keep-alive request: hyper watches such a connection for EOF while the handler runs,
    // but stops reading one that said `Connection: close`)
    let path = format!(
        "/api/logs/search?q={}&from=-90d&limit=5",
        telltale::cli::urlencode("cancelled")
    );
    let before = s.counter("searches");
    let addr = s.http.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).expect("connect http");
    write!(conn, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("request");
    // hang up once the search runs (closing sooner may stop the request before it starts)
    assert_eq!(
        s.wait_counter("searches", before + 1, Duration::from_secs(60)),
        before + 1
    );
    drop(conn);
    assert_eq!(
        s.wait_counter("search_cancelled", 2, Duration::from_secs(60)),
        2,
        "{}",
        s.log()
    );
    let log = s.log();
    assert!(
        log.lines().any(|l| l.contains(" search stopped after ")
            && !l.contains("streamed search")
            && l.contains(&format!("of {CANCEL_FRAMES} archive frames"))),
        "{log}"
    );

    // the server goes on serving; a search that runs to its end reads every frame
    let all = s.search("cancelled", "from=-90d&limit=1");
    assert_eq!(all["total"], CANCEL_FRAMES as u64);
    assert_eq!(s.counter("search_cancelled"), 2);
}

/// Sends a streamed search for `q` over the last 90 days (limit 5) on a fresh connection,
/// the request written and the response left to read.
fn stream_search(http: &str, q: &str) -> TcpStream {
    let path = format!(
        "/api/logs/search?q={}&from=-90d&limit=5&stream=1",
        telltale::cli::urlencode(q)
    );
    let addr = http.trim_start_matches("http://");
    let mut conn = TcpStream::connect(addr).expect("connect http");
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    conn
}
