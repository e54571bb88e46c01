//! End-to-end: real senders (`logger`, a private rsyslogd) and raw sockets against a running
//! server, checked through the search API and the CLI.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Server, ensure_command};

/// How long a test waits for a line to become searchable. The product's promise is 2 s (one
/// commit interval plus a reload); the margin absorbs a loaded CI machine. Latency itself is
/// measured by the benchmark, not asserted here.
const WAIT: Duration = Duration::from_secs(15);

fn logger(server: &Server, args: &[&str]) {
    assert!(
        ensure_command("logger", "bsdutils"),
        "logger is not installed"
    );
    let port = server.syslog.port().to_string();
    let st = Command::new("logger")
        .args(["--server", "127.0.0.1", "--port", &port])
        .args(args)
        .status()
        .expect("run logger");
    assert!(st.success(), "logger {args:?} failed");
}

#[test]
fn logger_rfc5424_tcp_rfc3164_udp_and_octet_counted_are_searchable() {
    let s = Server::start("");
    logger(&s, &["--tcp", "--rfc5424", "-t", "tcpapp", "hello5424tcp"]);
    logger(&s, &["--udp", "--rfc3164", "-t", "udpapp", "hello3164udp"]);
    logger(
        &s,
        &[
            "--tcp",
            "--rfc5424",
            "--octet-count",
            "-t",
            "octapp",
            "-p",
            "local3.warning",
            "--msgid",
            "MID1",
            "--sd-id",
            "zoo@123",
            "--sd-param",
            "tiger=\"hungry\"",
            "hellooctet",
        ],
    );
    for (q, app) in [
        ("hello5424tcp", "tcpapp"),
        ("hello3164udp", "udpapp"),
        ("hellooctet", "octapp"),
    ] {
        assert_eq!(
            s.wait_total(q, 1, WAIT),
            1,
            "{q} not found; log: {}",
            s.log()
        );
        let hit = &s.search(q, "")["hits"][0];
        assert_eq!(hit["app"], app, "{hit}");
        assert_eq!(hit["message"], q, "{hit}");
    }
    let hit = &s.search("hellooctet", "")["hits"][0];
    assert_eq!(hit["severity"], "warning");
    assert_eq!(hit["facility"], "local3");
    assert_eq!(hit["msgid"], "MID1");
    assert_eq!(hit["fields"]["zoo@123.tiger"], "hungry");
    // structured-data fields and header fields are searchable too
    assert_eq!(s.search("msgid:MID1 AND severity:warning", "")["total"], 1);
    assert_eq!(s.search("app:octapp OR app:udpapp", "")["total"], 2);
}

#[test]
fn cli_search_prints_hits() {
    let s = Server::start("");
    logger(
        &s,
        &[
            "--tcp",
            "--rfc5424",
            "-t",
            "cliapp",
            "needle from the cli test",
        ],
    );
    assert_eq!(s.wait_total("needle", 1, WAIT), 1);
    let out = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["search", "needle", "--since", "1h", "--server", &s.http])
        .output()
        .expect("run telltale search");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cliapp"), "{stdout}");
    assert!(stdout.contains("needle from the cli test"), "{stdout}");
    // a query that does not parse is an error with the reason, and a non-zero exit
    let out = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["search", "(unclosed", "--server", &s.http])
        .output()
        .expect("run telltale search");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("400"));
}

/// rsyslog's stock forwarding, three ways, from a private rsyslogd (own config, pid file and
/// work directory; nothing of the system's logging is touched).
#[test]
fn rsyslog_forwarding_in_its_three_stock_formats_is_searchable() {
    assert!(
        ensure_command("rsyslogd", "rsyslog"),
        "rsyslogd is not installed and could not be installed"
    );
    let s = Server::start("");
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("work dir");
    let in_port = crate::harness::free_port();
    let port = s.syslog.port();
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{in_port}" ruleset="fwd")
ruleset(name="fwd") {{
  if $msg contains "viadefault" then action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp")
  if $msg contains "viaudp" then action(type="omfwd" target="127.0.0.1" port="{port}" protocol="udp")
  if $msg contains "viap23" then action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" template="RSYSLOG_SyslogProtocol23Format")
  if $msg contains "viaoctet" then action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" template="RSYSLOG_SyslogProtocol23Format" TCP_Framing="octet-counted")
}}
*.* action(type="omfile" file="{internal}")
"#,
            work = work.display(),
            internal = dir.path().join("internal.log").display()
        ),
    )
    .expect("write rsyslog.conf");
    let pidfile = dir.path().join("rsyslogd.pid");
    let rsyslogd = if std::path::Path::new("/usr/sbin/rsyslogd").exists() {
        "/usr/sbin/rsyslogd"
    } else {
        "rsyslogd"
    };
    let mut child = Command::new(rsyslogd)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(&pidfile)
        .spawn()
        .expect("start rsyslogd");
    let mut conn = None;
    for _ in 0..200 {
        if let Ok(c) = TcpStream::connect(("127.0.0.1", in_port)) {
            conn = Some(c);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut conn = conn.expect("rsyslogd did not open its input port");
    for via in ["viadefault", "viaudp", "viap23", "viaoctet"] {
        writeln!(
            conn,
            "<134>Nov 24 16:00:00 myhost myapp[123]: hello {via} from rsyslog"
        )
        .expect("write to rsyslog");
        writeln!(
            conn,
            "<165>1 2026-11-24T16:00:00.123456+00:00 myhost app5424 77 ID47 [exampleSDID@32473 iut=\"3\"] hello {via} 5424"
        )
        .expect("write to rsyslog");
    }
    drop(conn);
    let mut results = Vec::new();
    for via in ["viadefault", "viaudp", "viap23", "viaoctet"] {
        let n = s.wait_total(via, 2, WAIT);
        results.push((via, n, s.search(via, "")));
    }
    let _ = child.kill();
    let _ = child.wait();
    for (via, n, res) in results {
        assert_eq!(n, 2, "{via}: {res}\nserver log: {}", s.log());
        let hits = res["hits"].as_array().expect("hits");
        let h3164 = hits
            .iter()
            .find(|h| h["app"] == "myapp")
            .unwrap_or_else(|| panic!("{via}: no myapp hit in {res}"));
        assert_eq!(h3164["host"], "myhost", "{via}: {h3164}");
        assert_eq!(h3164["pid"], "123", "{via}: {h3164}");
        assert_eq!(h3164["severity"], "info", "{via}: {h3164}");
        assert_eq!(h3164["facility"], "local0", "{via}: {h3164}");
        assert_eq!(
            h3164["message"],
            format!("hello {via} from rsyslog"),
            "{via}: {h3164}"
        );
        let h5424 = hits
            .iter()
            .find(|h| h["app"] == "app5424")
            .unwrap_or_else(|| panic!("{via}: no app5424 hit in {res}"));
        assert_eq!(h5424["host"], "myhost", "{via}: {h5424}");
        assert_eq!(h5424["pid"], "77", "{via}: {h5424}");
        assert_eq!(h5424["severity"], "notice", "{via}: {h5424}");
        assert_eq!(h5424["facility"], "local4", "{via}: {h5424}");
    }
}

#[test]
fn a_malformed_frame_closes_only_its_own_connection() {
    let s = Server::start("");
    let mut good = TcpStream::connect(s.syslog).expect("connect");
    good.write_all(b"<13>Nov 24 16:00:00 h app: before bad\n")
        .expect("write");
    // an octet count of 10 digits is no frame any sender makes: that connection is closed
    let mut bad = TcpStream::connect(s.syslog).expect("connect");
    bad.write_all(b"9999999999 <13>x\n").expect("write");
    assert_eq!(s.wait_total("before", 1, WAIT), 1);
    good.write_all(b"<13>Nov 24 16:00:00 h app: after bad\n")
        .expect("write");
    assert_eq!(s.wait_total("after", 1, WAIT), 1, "{}", s.log());
    assert_eq!(s.counter("syslog_tcp_framing_errors"), 1);
}

#[test]
fn a_long_message_is_truncated_to_the_configured_maximum_and_counted() {
    let s = Server::start("");
    let mut line = b"<13>Nov 24 16:00:00 host app: longline ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 100_000));
    line.push(b'\n');
    line.extend_from_slice(b"<13>Nov 24 16:00:00 host app: shortline\n");
    s.send_tcp(&line);
    assert_eq!(s.wait_total("shortline", 1, WAIT), 1, "{}", s.log());
    assert_eq!(s.wait_total("longline", 1, WAIT), 1);
    assert_eq!(s.counter("syslog_truncated"), 1);
    let hit = &s.search("longline", "")["hits"][0];
    let msg = hit["message"].as_str().expect("message");
    assert!(msg.len() < 64 * 1024 && msg.len() > 60_000, "{}", msg.len());
}

#[test]
fn query_errors_are_400_with_a_message_and_time_ranges_filter() {
    let s = Server::start("");
    s.send_tcp(b"<13>2026-01-01T00:00:00Z oldhost app: timed line\n<13>2026-06-01T00:00:00Z newhost app: timed line\n");
    assert_eq!(s.wait_total("timed", 2, WAIT), 2, "{}", s.log());
    let (status, body) = s.get("/api/logs/search?q=%28unclosed");
    assert_eq!(status, 400);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    let (status, _) = s.get("/api/logs/search?q=x&from=yesterdayish");
    assert_eq!(status, 400);
    let (status, _) = s.get("/api/logs/search?q=x&limit=lots");
    assert_eq!(status, 400);
    // RFC 3339 and epoch bounds
    let v = s.search("timed", "from=2026-05-01T00:00:00Z");
    assert_eq!(v["total"], 1);
    assert_eq!(v["hits"][0]["host"], "newhost");
    let v = s.search("timed", "until=1767225601");
    assert_eq!(v["total"], 1);
    assert_eq!(v["hits"][0]["host"], "oldhost");
    // newest first
    let v = s.search("timed", "");
    assert_eq!(v["hits"][0]["host"], "newhost");
    assert_eq!(v["hits"][1]["host"], "oldhost");
    // POST with a JSON body and with a form body
    let post = |ct: &str, body: &str| {
        let mut c = TcpStream::connect(s.http.trim_start_matches("http://")).expect("connect");
        write!(
            c,
            "POST /api/logs/search HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut out = String::new();
        std::io::Read::read_to_string(&mut c, &mut out).expect("read");
        out
    };
    let out = post("application/json", r#"{"q":"host:oldhost","limit":5}"#);
    assert!(out.contains("\"total\":1"), "{out}");
    let out = post("application/x-www-form-urlencoded", "q=timed&limit=1");
    assert!(out.contains("\"total\":2"), "{out}");
}
