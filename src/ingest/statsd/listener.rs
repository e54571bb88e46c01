//! statsd listeners feeding one aggregator task. The task owns the [`Aggregator`], so the
//! state needs no lock; readers hand it packets over a bounded channel. UDP never waits: when
//! the channel is full the batch is dropped and counted (UDP has no back-pressure, and a UDP
//! flood must not stall TCP). TCP readers wait, so a slow pipeline slows TCP senders down.
//!
//! Every `flush_interval_ms` the aggregator's points go to `out`; at shutdown the readers
//! stop, what they already read is aggregated, and one last flush is sent.
//!
//! The disk floor (`crate::disk`) pauses the readers as it pauses syslog's: TCP stops reading
//! (the senders buffer), UDP datagrams are dropped and counted. Flushes go on: they only write
//! the series statsd already has, a bounded number of points per interval.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

use super::aggregate::{Aggregator, StatsdSettings};
use crate::metrics::Counters;
use crate::model::MetricPoint;

pub use crate::ingest::net::{ListenerError, Pause, bind_tcp, bind_udp};

/// Packets read together: one buffer and the end offset of each packet in it, so a burst of
/// datagrams costs one allocation, not one per datagram.
#[derive(Debug, Default)]
struct Packets {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Packets {
    fn push(&mut self, packet: &[u8]) {
        self.data.extend_from_slice(packet);
        self.ends.push(self.data.len());
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let p = &self.data[start..end];
            start = end;
            p
        })
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// etsy's flush time: `Math.round(Date.now() / 1000)`.
fn flush_ts() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_millis() as i64 + 500) / 1000)
        .unwrap_or(0)
}

/// Runs the statsd listeners and the aggregator until `shutdown` flips (or its sender is
/// dropped), then flushes once more. Either socket may be absent; `pause` is the disk floor's.
/// Returns when the last flush has been handed to `out` (or `out` is closed).
pub async fn run(
    settings: StatsdSettings,
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    out: mpsc::Sender<Vec<MetricPoint>>,
    counters: Arc<Counters>,
    pause: Pause,
    mut shutdown: watch::Receiver<bool>,
) {
    let (tx, mut rx) = mpsc::channel::<Packets>(settings.queue_capacity.max(1));
    let mut readers = tokio::task::JoinSet::new();
    if let Some(sock) = udp {
        readers.spawn(serve_udp(
            sock,
            tx.clone(),
            counters.clone(),
            pause.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(listener) = tcp {
        readers.spawn(serve_tcp(
            listener,
            tx.clone(),
            settings.clone(),
            counters.clone(),
            pause,
            shutdown.clone(),
        ));
    }
    drop(tx);

    let interval_ms = settings.flush_interval_ms.max(1);
    let mut agg = Aggregator::new(settings, now_secs());
    let period = Duration::from_millis(interval_ms);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closed = false;
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            p = rx.recv(), if !closed => match p {
                Some(p) => ingest(&mut agg, &p, &counters),
                None => closed = true,
            },
            _ = ticker.tick() => {
                if !send(&mut agg, interval_ms, &out, &counters).await {
                    return;
                }
            }
            r = shutdown.changed() => if r.is_err() || *shutdown.borrow() { break },
        }
    }
    // readers stop on the same signal; wait for them so nothing read is left behind, and
    // keep draining the queue meanwhile: a reader waiting for room in it would never stop
    loop {
        tokio::select! {
            r = readers.join_next() => if r.is_none() { break },
            p = rx.recv(), if !closed => match p {
                Some(p) => ingest(&mut agg, &p, &counters),
                None => closed = true,
            },
        }
    }
    while let Ok(p) = rx.try_recv() {
        ingest(&mut agg, &p, &counters);
    }
    send(&mut agg, interval_ms, &out, &counters).await;
}

fn ingest(agg: &mut Aggregator, packets: &Packets, counters: &Counters) {
    let mut bad = 0;
    for p in packets.iter() {
        bad += agg.ingest(p);
    }
    if bad > 0 {
        counters.statsd_bad_lines.fetch_add(bad, Ordering::Relaxed);
    }
}

/// One flush into `out`; false when the consumer is gone.
async fn send(
    agg: &mut Aggregator,
    interval_ms: u64,
    out: &mpsc::Sender<Vec<MetricPoint>>,
    counters: &Counters,
) -> bool {
    let points = agg.flush(flush_ts(), interval_ms);
    counters
        .statsd_points_flushed
        .fetch_add(points.len() as u64, Ordering::Relaxed);
    out.send(points).await.is_ok()
}

/// Receives datagrams until shutdown; one datagram is one packet, as in etsy. While the disk
/// floor pauses ingestion, datagrams are read (so the socket buffer does not hold stale ones
/// for the resume) and dropped.
async fn serve_udp(
    socket: UdpSocket,
    tx: mpsc::Sender<Packets>,
    counters: Arc<Counters>,
    pause: Pause,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let first = tokio::select! {
            _ = shutdown.changed() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        let mut batch = Packets::default();
        let mut next = first;
        loop {
            match next {
                Ok((n, _peer)) => batch.push(&buf[..n]),
                Err(e) => tracing::debug!("statsd udp recv failed: {e}"),
            }
            if batch.ends.len() >= 256 {
                break;
            }
            next = match socket.try_recv_from(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                r => r,
            };
        }
        let n = batch.ends.len() as u64;
        if n == 0 {
            continue;
        }
        counters.statsd_udp_received.fetch_add(n, Ordering::Relaxed);
        if pause.is_paused() {
            counters
                .statsd_udp_dropped_disk_floor
                .fetch_add(n, Ordering::Relaxed);
            continue;
        }
        match tx.try_send(batch) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                counters.statsd_udp_dropped.fetch_add(n, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

/// Accepts TCP connections until shutdown; each connection gets its own reader task.
async fn serve_tcp(
    listener: TcpListener,
    tx: mpsc::Sender<Packets>,
    settings: StatsdSettings,
    counters: Arc<Counters>,
    pause: Pause,
    shutdown: watch::Receiver<bool>,
) {
    let max_line = settings.max_line_length.max(1);
    let refused = || {
        counters.statsd_tcp_refused.fetch_add(1, Ordering::Relaxed);
    };
    let handle = |stream: TcpStream, peer: SocketAddr| {
        counters
            .statsd_tcp_connections
            .fetch_add(1, Ordering::Relaxed);
        let (tx, counters, pause, shutdown) = (
            tx.clone(),
            counters.clone(),
            pause.clone(),
            shutdown.clone(),
        );
        async move { read_connection(stream, peer, tx, max_line, &counters, pause, shutdown).await }
    };
    crate::ingest::net::accept_loop(
        listener,
        "statsd tcp",
        settings.max_connections,
        shutdown.clone(),
        refused,
        handle,
    )
    .await;
}

/// Reads one newline-delimited connection. As etsy's TCP server does, what one read delivered
/// up to its last newline is one packet; a trailing unterminated line is kept for the next
/// read, and taken as it is at EOF or shutdown. Paused by the disk floor, it leaves the bytes
/// in the socket.
async fn read_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    tx: mpsc::Sender<Packets>,
    max_line: usize,
    counters: &Counters,
    mut pause: Pause,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut eof = false;
    while !eof {
        eof = !pause.wait_resumed(&mut shutdown).await
            || crate::ingest::net::read_some(
                &mut stream,
                &mut buf,
                &mut shutdown,
                "statsd tcp",
                peer,
            )
            .await;
        let end = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(i) => i + 1,
                None if buf.len() > max_line => {
                    counters.statsd_tcp_overlong.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        "closing statsd connection from {peer}: line over {max_line} bytes"
                    );
                    return;
                }
                None => 0,
            }
        };
        if end == 0 {
            continue;
        }
        let chunk = buf.split_to(end);
        let mut batch = Packets::default();
        batch.push(&chunk);
        counters.statsd_tcp_received.fetch_add(1, Ordering::Relaxed);
        if tx.send(batch).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// `run` started for a test, flushing only at shutdown unless its settings say otherwise.
    struct Running {
        task: tokio::task::JoinHandle<()>,
        out: mpsc::Receiver<Vec<MetricPoint>>,
        stop: watch::Sender<bool>,
        counters: Arc<Counters>,
    }

    fn shutdown_only() -> StatsdSettings {
        StatsdSettings {
            flush_interval_ms: 3_600_000,
            ..StatsdSettings::default()
        }
    }

    fn start(
        settings: StatsdSettings,
        udp: Option<UdpSocket>,
        tcp: Option<TcpListener>,
        pause: Pause,
    ) -> Running {
        let (out_tx, out) = mpsc::channel(64);
        let (stop, stop_rx) = watch::channel(false);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(run(
            settings,
            udp,
            tcp,
            out_tx,
            counters.clone(),
            pause,
            stop_rx,
        ));
        Running {
            task,
            out,
            stop,
            counters,
        }
    }

    fn names(points: &[MetricPoint]) -> Vec<&str> {
        points.iter().map(|p| p.name.as_str()).collect()
    }

    fn value(points: &[MetricPoint], name: &str) -> Option<f64> {
        points.iter().find(|p| p.name == name).map(|p| p.value)
    }

    #[tokio::test]
    async fn udp_and_tcp_feed_one_aggregator_and_flush_at_shutdown() {
        let udp = bind_udp("127.0.0.1:0".parse().unwrap(), 1 << 20).unwrap();
        let udp_addr = udp.local_addr().unwrap();
        let tcp = bind_tcp("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let tcp_addr = tcp.local_addr().unwrap();
        let Running {
            task,
            out: mut out_rx,
            stop: stop_tx,
            counters,
        } = start(shutdown_only(), Some(udp), Some(tcp), Pause::never());

        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(b"u.c:2|c\nu.c:3|c", udp_addr).unwrap();
        let mut conn = TcpStream::connect(tcp_addr).await.unwrap();
        conn.write_all(b"t.c:5|c\nt.g:7|g\nt.tail:1|c")
            .await
            .unwrap();
        conn.shutdown().await.unwrap();
        // wait until both arrived, then stop
        for _ in 0..200 {
            if counters.statsd_udp_received.load(Ordering::Relaxed) == 1
                && counters.statsd_tcp_received.load(Ordering::Relaxed) >= 2
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let points = out_rx.recv().await.unwrap();
        assert_eq!(
            value(&points, "stats_counts.u.c"),
            Some(5.0),
            "{:?}",
            names(&points)
        );
        assert_eq!(value(&points, "stats_counts.t.c"), Some(5.0));
        assert_eq!(value(&points, "stats_counts.t.tail"), Some(1.0));
        assert_eq!(value(&points, "stats.gauges.t.g"), Some(7.0));
    }

    /// Shutdown while TCP readers wait on a full queue: the aggregator keeps draining the
    /// queue until every reader has stopped, so `run` returns (it used to wait for the
    /// readers without draining, and a reader blocked on the full queue never stopped) and
    /// flushes what they handed over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_with_readers_blocked_on_a_full_queue_returns_and_keeps_their_lines() {
        let tcp = bind_tcp("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let Running {
            task,
            out: mut out_rx,
            stop: stop_tx,
            counters,
        } = start(
            StatsdSettings {
                queue_capacity: 1,
                ..shutdown_only()
            },
            None,
            Some(tcp),
            Pause::never(),
        );
        let line = b"q.c:1|c\n".repeat(4096);
        let mut writers = Vec::new();
        for _ in 0..8 {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            let line = line.clone();
            writers.push(tokio::spawn(async move {
                for _ in 0..64 {
                    if conn.write_all(&line).await.is_err() {
                        return;
                    }
                }
            }));
        }
        // stop while the queue is full and readers wait on it
        for _ in 0..30_000 {
            if counters.statsd_tcp_received.load(Ordering::Relaxed) >= 64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        stop_tx.send(true).unwrap();
        // a hang is the failure: `run` must return once its readers have stopped
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("statsd run did not return after shutdown")
            .unwrap();
        let mut total = 0.0;
        while let Ok(points) = out_rx.try_recv() {
            total += value(&points, "stats_counts.q.c").unwrap_or(0.0);
        }
        // the last flush carries what the readers handed over before they stopped
        assert!(total > 0.0, "no flush after shutdown");
        for w in writers {
            w.abort();
        }
    }

    #[tokio::test]
    async fn flushes_on_the_interval() {
        let udp = bind_udp("127.0.0.1:0".parse().unwrap(), 0).unwrap();
        let addr = udp.local_addr().unwrap();
        let (out_tx, mut out_rx) = mpsc::channel(16);
        let (_stop_tx, stop_rx) = watch::channel(false);
        let settings = StatsdSettings {
            flush_interval_ms: 100,
            ..StatsdSettings::default()
        };
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(
            settings,
            Some(udp),
            None,
            out_tx,
            counters,
            Pause::never(),
            stop_rx,
        ));
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(b"x:1|c", addr).unwrap();
        let mut total = 0.0;
        for _ in 0..3 {
            let points = tokio::time::timeout(Duration::from_secs(5), out_rx.recv())
                .await
                .unwrap()
                .unwrap();
            total += value(&points, "stats_counts.x").unwrap_or(0.0);
        }
        assert_eq!(total, 1.0);
    }

    /// Paused by the disk floor: datagrams are dropped and counted, a TCP connection is not
    /// read until the pause ends, then everything it was sent is aggregated.
    #[tokio::test]
    async fn a_pause_drops_udp_and_holds_tcp_until_resumed() {
        let udp = bind_udp("127.0.0.1:0".parse().unwrap(), 1 << 20).unwrap();
        let udp_addr = udp.local_addr().unwrap();
        let tcp = bind_tcp("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let tcp_addr = tcp.local_addr().unwrap();
        let (pause_tx, pause_rx) = watch::channel(true);
        let Running {
            task,
            out: mut out_rx,
            stop: stop_tx,
            counters,
        } = start(shutdown_only(), Some(udp), Some(tcp), Pause::new(pause_rx));
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..3 {
            client.send_to(b"paused.udp:1|c", udp_addr).unwrap();
        }
        let mut conn = TcpStream::connect(tcp_addr).await.unwrap();
        conn.write_all(b"held.tcp:4|c\n").await.unwrap();
        for _ in 0..500 {
            if counters
                .statsd_udp_dropped_disk_floor
                .load(Ordering::Relaxed)
                == 3
                && counters.statsd_tcp_connections.load(Ordering::Relaxed) == 1
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            counters
                .statsd_udp_dropped_disk_floor
                .load(Ordering::Relaxed),
            3
        );
        assert_eq!(counters.statsd_tcp_received.load(Ordering::Relaxed), 0);
        pause_tx.send(false).unwrap();
        for _ in 0..500 {
            if counters.statsd_tcp_received.load(Ordering::Relaxed) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        client.send_to(b"after.udp:2|c", udp_addr).unwrap();
        for _ in 0..500 {
            if counters.statsd_udp_received.load(Ordering::Relaxed) == 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // what the readers handed on before the stop is aggregated into the last flush
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let points = out_rx.recv().await.unwrap();
        assert_eq!(value(&points, "stats_counts.held.tcp"), Some(4.0));
        assert_eq!(value(&points, "stats_counts.after.udp"), Some(2.0));
        assert_eq!(value(&points, "stats_counts.paused.udp"), None);
        assert_eq!(
            counters
                .statsd_udp_dropped_disk_floor
                .load(Ordering::Relaxed),
            3
        );
    }

    /// Load test, not a check: `cargo test --release --lib statsd_udp_end_to_end --
    /// --ignored --nocapture`. One sender thread sends 2 s of single-metric packets as fast
    /// as it can; prints what was sent, what the aggregator counted and what was dropped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore]
    async fn statsd_udp_end_to_end() {
        for per_packet in [1usize, 10] {
            let udp = bind_udp("127.0.0.1:0".parse().unwrap(), 32 << 20).unwrap();
            let addr = udp.local_addr().unwrap();
            let Running {
                task,
                out: mut out_rx,
                stop: stop_tx,
                counters,
            } = start(shutdown_only(), Some(udp), None, Pause::never());
            let sender = std::thread::spawn(move || {
                let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                let packets: Vec<Vec<u8>> = (0..1000)
                    .map(|i| {
                        (0..per_packet)
                            .map(|j| format!("load.k{}:1|c", (i * per_packet + j) % 1000))
                            .collect::<Vec<_>>()
                            .join("\n")
                            .into_bytes()
                    })
                    .collect();
                let start = std::time::Instant::now();
                let mut sent = 0u64;
                while start.elapsed() < Duration::from_secs(2) {
                    for p in &packets {
                        if client.send_to(p, addr).is_ok() {
                            sent += 1;
                        }
                    }
                }
                (sent, start.elapsed().as_secs_f64())
            });
            let (sent, secs) = tokio::task::spawn_blocking(move || sender.join().unwrap())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            stop_tx.send(true).unwrap();
            task.await.unwrap();
            let points = out_rx.recv().await.unwrap();
            let got = value(&points, "stats_counts.statsd.packets_received").unwrap_or(0.0);
            let dropped = counters.statsd_udp_dropped.load(Ordering::Relaxed);
            println!(
                "{per_packet}-metric packets: sent {:.0}/s, aggregated {:.0}/s ({:.0} metrics/s), loss {:.2}% (queue drops {dropped})",
                sent as f64 / secs,
                got / secs,
                got * per_packet as f64 / secs,
                100.0 * (1.0 - got / sent as f64)
            );
        }
    }
}
