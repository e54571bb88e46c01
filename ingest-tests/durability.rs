//! Shutdown, restart and overload: what an operator relies on when the process is stopped or
//! flooded.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::harness::Server;

fn lines(tag: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        writeln!(
            out,
            "<134>Nov 24 16:00:00 web{} app[{}]: {tag} line {i} padding padding padding padding",
            i % 7,
            i % 100
        )
        .expect("write to vec");
    }
    out
}

/// SIGTERM: every line read from a TCP connection before the signal is committed before exit.
/// The commit interval is set to a minute, so only the shutdown path can have committed them.
#[test]
fn issue2_sigterm_commits_every_line_read_and_restart_keeps_them() {
    let mut s = Server::start("[logs]\ncommit_interval_ms = 60000\n");
    let n = 30_000;
    let payload = lines("sigterm", n);
    let mut conns: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(s.syslog).expect("connect"))
        .collect();
    for (i, chunk) in payload.split_inclusive(|b| *b == b'\n').enumerate() {
        conns[i % 3].write_all(chunk).expect("write");
    }
    // wait until the server has read every line off the sockets (connections stay open)
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.counter("syslog_tcp_received") < n as u64 {
        assert!(Instant::now() < deadline, "server did not read all lines");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        s.search("sigterm", "limit=0")["total"],
        0,
        "nothing committed yet"
    );
    let status = s.sigterm();
    assert!(status.success(), "exit status {status}: {}", s.log());
    drop(conns);
    s.restart();
    assert_eq!(s.search("sigterm", "limit=0")["total"], n as u64);
    assert_eq!(
        s.search("sigterm AND host:web3", "limit=0")["total"],
        (n / 7) as u64 + 1
    );
}

/// UDP has no back-pressure: when the pipeline is full datagrams are dropped and counted, and
/// TCP senders still get every line through.
#[test]
fn issue2_udp_overflow_is_dropped_and_counted_and_never_blocks_tcp() {
    // a one-batch pipeline overflows quickly under a flood
    let s = Server::start("[logs]\nchannel_batches = 1\n");
    let target = s.syslog;
    let flood = std::thread::spawn(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
        sock.connect(target).expect("connect");
        let dgram = b"<134>Nov 24 16:00:00 flooder app: udpflood datagram with some padding text";
        for _ in 0..300_000 {
            let _ = sock.send(dgram);
        }
    });
    let n = 20_000;
    s.send_tcp(&lines("tcpduringflood", n));
    flood.join().expect("flood thread");
    assert_eq!(
        s.wait_total("tcpduringflood", n as u64, Duration::from_secs(60)),
        n as u64,
        "{}",
        s.log()
    );
    // let the last datagrams settle, then check the books balance exactly
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let received = s.counter("syslog_udp_received");
        let dropped = s.counter("syslog_udp_dropped");
        let stored = s.search("udpflood", "limit=0")["total"]
            .as_u64()
            .unwrap_or(0);
        if received == dropped + stored {
            assert!(received > 0);
            eprintln!("udp received {received}, dropped {dropped}, stored {stored}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "udp books do not balance: received {received} dropped {dropped} stored {stored}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
