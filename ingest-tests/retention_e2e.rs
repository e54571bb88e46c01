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
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("logs.toml");
    // a floor of 100% of the filesystem is never met: ingestion pauses at the first probe
    std::fs::write(&policy, "disk_floor = \"100%\"\n").expect("write policy");
    let s = Server::start(&format!(
        "[logs]\nretention = {:?}\n",
        policy.display().to_string()
    ));
    wait_for("the pause", Duration::from_secs(30), || {
        health(&s).contains("disk_floor: paused")
    });
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
    assert_eq!(
        s.wait_counter("syslog_udp_dropped_disk_floor", 10, Duration::from_secs(30)),
        10
    );
    assert_eq!(s.counter("syslog_tcp_received"), 0, "paused TCP was read");
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
    let stamp = dir.path().join("stamp");
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
    udp.send_to(
        format!("<13>1 {now} web1 app - - - datagram after resume").as_bytes(),
        s.syslog,
    )
    .expect("send");
    assert_eq!(s.wait_total("after resume", 1, Duration::from_secs(30)), 1);
    assert_eq!(s.counter("syslog_udp_dropped_disk_floor"), 10);
}
