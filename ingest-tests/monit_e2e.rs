//! End-to-end: a real Monit (Debian's 5.33) posting to the server's `/collector` as it would to
//! M/Monit, plus replayed captures over raw sockets for the protocol's edges (401, 400, gzip).
//! Metric values are asserted in the unit tests (`src/ingest/monit/tests.rs`): this branch has
//! no metrics store to query yet.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Server, ensure_command, free_port};

/// Monit runs every second here; a few cycles plus the log commit fit well inside this.
const WAIT: Duration = Duration::from_secs(30);
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ingest-tests/golden/monit");

/// A private Monit in the foreground; killed on drop.
struct Monit {
    child: Child,
    dir: tempfile::TempDir,
}

impl Monit {
    fn start(collector_url: &str, system_name: &str) -> Monit {
        assert!(ensure_command("monit", "monit"), "monit is not installed");
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display().to_string();
        let flaky = dir.path().join("flaky.sh");
        std::fs::write(
            &flaky,
            "#!/bin/sh\necho \"flaky: always failing\"\nexit 1\n",
        )
        .expect("script");
        std::fs::set_permissions(&flaky, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let httpd = free_port();
        let rc = format!(
            "set daemon 1\n\
             set log {d}/monit.log\n\
             set pidfile {d}/monit.pid\n\
             set idfile {d}/monit.id\n\
             set statefile {d}/monit.state\n\
             set eventqueue basedir {d}/events slots 100\n\
             set mmonit {collector_url}\n\
             set httpd port {httpd} address 127.0.0.1\n    allow localhost\n\n\
             check system {system_name}\n\n\
             check program flaky with path {flaky} with timeout 10 seconds\n    \
             if status != 0 then alert\n",
            flaky = flaky.display()
        );
        let ctl = dir.path().join("monitrc");
        std::fs::write(&ctl, rc).expect("monitrc");
        std::fs::set_permissions(&ctl, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let child = Command::new("/usr/bin/monit")
            .arg("-c")
            .arg(&ctl)
            .arg("-I")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn monit");
        Monit { child, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("monit.log")).unwrap_or_default()
    }
}

impl Drop for Monit {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hosts(s: &Server) -> Value {
    let (status, body) = s.get("/api/hosts");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("json")
}

/// Polls `/api/hosts` until `ok` holds for the host named `name`.
fn wait_host(s: &Server, name: &str, ok: impl Fn(&Value) -> bool) -> Option<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let all = hosts(s);
        let found = all["hosts"]
            .as_array()
            .and_then(|hs| hs.iter().find(|h| h["hostname"] == name).cloned());
        if let Some(h) = found.filter(|h| ok(h)) {
            return Some(h);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn service<'a>(host: &'a Value, name: &str) -> Option<&'a Value> {
    host["services"]
        .as_array()
        .and_then(|v| v.iter().find(|s| s["name"] == name))
}

#[test]
fn real_monit_reports_host_services_and_a_failing_program_event() {
    let mut s = Server::start("");
    let port = s.http.rsplit(':').next().expect("port").to_string();
    let m = Monit::start(
        &format!("http://monit:monit@127.0.0.1:{port}/collector"),
        "e2e-monit-host",
    );
    let host = wait_host(&s, "e2e-monit-host", |h| {
        service(h, "flaky").is_some_and(|f| f["failing"] == true)
    })
    .unwrap_or_else(|| {
        panic!(
            "monit host with a failing program not listed: {}\nmonit log: {}\nserver log: {}",
            hosts(&s),
            m.log(),
            s.log()
        )
    });
    assert_eq!(host["id"].as_str().map(str::len), Some(32), "{host}");
    assert_eq!(host["monit_version"], "5.33.0");
    assert_eq!(host["poll"], 1);
    assert_eq!(host["stale"], false);
    assert!(host["incarnation"].as_i64().is_some_and(|i| i > 0));
    assert!(
        host["platform"]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    let system = service(&host, "e2e-monit-host").expect("system service");
    assert_eq!(system["type"], "system");
    assert_eq!(service(&host, "flaky").expect("flaky")["type"], "program");

    // the same reports arrive as metrics, readable through the Graphite API
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let numbers = |target: &str| -> Vec<f64> {
            let r = s.render(&format!("target={target}&from=-10min"));
            r.as_array()
                .and_then(|a| a.first())
                .and_then(|sr| sr["datapoints"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|p| p[0].as_f64())
                .collect()
        };
        let flaky = numbers("monit.e2e-monit-host.flaky.status");
        let load = numbers("monit.e2e-monit-host.e2e-monit-host.load.avg01");
        if flaky.contains(&1.0) && !load.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "monit metrics missing: flaky.status {flaky:?}, load.avg01 {load:?}; index: {}",
            String::from_utf8_lossy(&s.get("/metrics/index.json").1)
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // the failure event is searchable beside syslog
    let q = "app:monit AND severity:error";
    assert!(
        s.wait_total(q, 1, WAIT) >= 1,
        "no monit failure event; monit log: {}\nserver log: {}",
        m.log(),
        s.log()
    );
    let hits = s.search(q, "");
    let hit = &hits["hits"][0];
    assert_eq!(hit["host"], "e2e-monit-host", "{hit}");
    assert_eq!(hit["fields"]["service"], "flaky", "{hit}");
    assert_eq!(hit["fields"]["state"], "failed", "{hit}");
    assert!(
        hit["message"]
            .as_str()
            .is_some_and(|m| m.contains("status failed")),
        "{hit}"
    );
    // Monit's own start event arrives too, at info
    assert!(s.wait_total("app:monit AND severity:info", 1, WAIT) >= 1);
    assert!(!s.log().contains("panicked"), "server log: {}", s.log());
    assert!(s.log().contains("default credentials monit:monit"));
    // Monit killed outright (no goodbye event): after 3 silent poll cycles (1 s each) the host
    // is marked stale and that is logged once
    drop(m);
    assert!(
        wait_host(&s, "e2e-monit-host", |h| h["stale"] == true).is_some(),
        "host not marked stale: {}",
        hosts(&s)
    );
    assert_eq!(s.wait_total("app:monit AND msgid:stale", 1, WAIT), 1);
    let hit = &s.search("app:monit AND msgid:stale", "")["hits"][0];
    assert_eq!(hit["severity"], "warning", "{hit}");
    assert_eq!(hit["host"], "e2e-monit-host", "{hit}");
    // the collector's sender into the log writer must not hold the shutdown up
    let started = Instant::now();
    assert!(s.sigterm().success(), "server log: {}", s.log());
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Sends one raw HTTP request on its own connection (as Monit does); returns status and
/// the response head.
fn post(s: &Server, head_extra: &str, body: &[u8]) -> (u16, String) {
    let addr = s.http.trim_start_matches("http://");
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let req = format!(
        "POST /collector HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\nUser-Agent: Monit/5.33.0\r\n{head_extra}\r\n",
        body.len()
    );
    c.write_all(req.as_bytes()).expect("write");
    // the server answers an oversized body once it has read past the limit; the response is
    // read from a second handle while this one is still writing
    let mut reader = c.try_clone().expect("clone");
    let answer = std::thread::spawn(move || {
        let mut resp = Vec::new();
        let _ = reader.read_to_end(&mut resp);
        resp
    });
    let _ = c.write_all(body);
    let resp = answer.join().expect("reader");
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn capture_body(name: &str) -> Vec<u8> {
    let raw = std::fs::read(format!("{GOLDEN}/{name}")).expect("capture");
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    raw[at + 4..].to_vec()
}

#[test]
fn collector_checks_credentials_refuses_bad_xml_and_takes_gzip() {
    let s = Server::start("[monit]\nusers = [{ user = \"fleet\", password = \"pw1\" }]\n");
    let body = capture_body("04-program-status-failed-event.http");
    // the default user is off once users are configured
    let (st, head) = post(&s, "Authorization: Basic bW9uaXQ6bW9uaXQ=\r\n", &body);
    assert_eq!(st, 401, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: basic"),
        "{head}"
    );
    let (st, _) = post(&s, "", &body);
    assert_eq!(st, 401);
    // base64("fleet:pw1")
    let auth = "Authorization: Basic ZmxlZXQ6cHcx\r\n";
    let (st, head) = post(&s, auth, b"<monit id=\"x\"><server>");
    assert_eq!(st, 400, "{head}");
    assert!(head.contains("invalid monit document"), "{head}");
    let (st, _) = post(&s, auth, b"<!DOCTYPE x [<!ENTITY a \"b\">]><monit/>");
    assert_eq!(st, 400);
    // hostile bodies: deep nesting and a gzip bomb are 400s, an oversized body a 413, and
    // the server keeps serving
    let deep = format!("<monit id=\"a\">{}", "<x>".repeat(100_000));
    let (st, head) = post(&s, auth, deep.as_bytes());
    assert_eq!(st, 400, "{head}");
    let mut bomb = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..16 {
        bomb.write_all(&zeros).expect("gzip");
    }
    let bomb = bomb.finish().expect("gzip");
    let (st, head) = post(&s, &format!("{auth}Content-Encoding: gzip\r\n"), &bomb);
    assert_eq!(st, 400, "{head}");
    let (st, _) = post(&s, auth, &vec![b'A'; 10 << 20]);
    assert_eq!(st, 413);
    let (st, head) = post(&s, auth, &body);
    assert_eq!(st, 200, "{head}");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&capture_body("10-all-service-types-status.http"))
        .expect("gzip");
    let gz = e.finish().expect("gzip");
    let (st, head) = post(&s, &format!("{auth}Content-Encoding: gzip\r\n"), &gz);
    assert_eq!(st, 200, "{head}");
    let all = hosts(&s);
    let names: Vec<&str> = all["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .filter_map(|h| h["hostname"].as_str())
        .collect();
    assert_eq!(names, ["gen.host", "localhost"], "{all}");
    assert!(s.wait_total("app:monit AND service:flaky", 1, WAIT) >= 1);
    assert!(s.counter("monit_reports") >= 2);
    assert!(s.counter("monit_unauthorized") >= 2);
    assert!(s.counter("monit_rejected") >= 4);
}

/// Issue 7: while the disk floor pauses ingestion the collector answers 503 with why, and counts
/// it; a real Monit keeps the events it could not deliver in its event queue and sends them
/// once the floor is lowered by a reload of `retention/logs.toml`.
#[test]
fn issue7_a_paused_collector_answers_503_and_monit_redelivers_its_queued_event() {
    // a floor of 100% of the filesystem is never met: ingestion pauses at the first probe
    let (s, policy) = Server::start_paused("");
    let auth = "Authorization: Basic bW9uaXQ6bW9uaXQ=\r\n";
    let (st, text) = post(
        &s,
        auth,
        &capture_body("04-program-status-failed-event.http"),
    );
    assert_eq!(st, 503, "{text}");
    assert!(
        text.contains("ingestion is paused because free disk space is below the disk floor"),
        "{text}"
    );
    // credentials still come first
    let (st, _) = post(&s, "", &capture_body("03-periodic-status.http"));
    assert_eq!(st, 401);

    let port = s.http.rsplit(':').next().expect("port").to_string();
    let m = Monit::start(
        &format!("http://monit:monit@127.0.0.1:{port}/collector"),
        "e2e-floor-host",
    );
    // refused until the failing program's event is queued too (after Monit's start event)
    let deadline = Instant::now() + WAIT;
    while !(m.log().contains("'flaky' status failed")
        && m.log().matches("Adding event to the queue").count() >= 2)
    {
        assert!(Instant::now() < deadline, "monit log: {}", m.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(m.log().contains("503 Service Unavailable"), "{}", m.log());
    assert!(s.counter("monit_refused_disk_floor") >= 3);
    assert_eq!(s.counter("monit_reports"), 0);
    assert_eq!(hosts(&s)["hosts"].as_array().map(Vec::len), Some(0));
    assert_eq!(s.search("app:monit", "limit=0")["total"], 0);

    s.lower_floor(&policy);
    // the program failed once, before the resume: its event arrives only from Monit's queue
    assert!(
        s.wait_total("app:monit AND severity:error AND service:flaky", 1, WAIT) >= 1,
        "queued event not redelivered; monit log: {}\nserver log: {}",
        m.log(),
        s.log()
    );
    assert!(wait_host(&s, "e2e-floor-host", |_| true).is_some());
    assert!(s.counter("monit_reports") >= 1);
}
