//! Wires the stages with bounded channels, spawns them, and shuts them down in order:
//!
//! ```text
//! listeners ──(tokio mpsc, RawBatch)──► normalize thread ──(sync_channel)──► writer thread
//! ```
//!
//! Monit's collector (on the HTTP server) sends event records straight into the writer's
//! channel and metric points into a points channel (drained and discarded until the metrics
//! store lands).
//!
//! Shutdown flips a watch channel: listeners stop reading and drop their senders, the HTTP
//! server stops and drops its state (its Monit sender into the writer), the normalize thread
//! drains and exits, the writer drains, commits and exits. Nothing read from a socket before
//! the signal is lost.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::http::{AppState, router};
use crate::ingest::monit::inventory::Inventory;
use crate::ingest::syslog::listener::{self, SyslogSettings};
use crate::metrics::Counters;
use crate::model::MetricPoint;
use crate::store::events::EventStore;
use crate::store::logs::LogStore;
use crate::store::logs::archive::retention::{LogRetention, SharedRetention};
use crate::store::logs::writer::RecordBatch;
use crate::store::logs::writer::{self, WriterConfig};
use crate::store::metrics::retention::{Aggregations, Schemas};
use crate::store::metrics::{MetricStore, MetricsBackend};

/// Runs the server until `shutdown` resolves, then drains and returns.
pub async fn run(cfg: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    cfg.validate()?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
    let counters = Arc::new(Counters::default());
    let data_dir = cfg.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || LogStore::open(&data_dir))
        .await?
        .context("cannot open the log store")?;
    let store = Arc::new(store);
    let normalizer = Arc::new(crate::normalize::SharedNormalizer::load(
        cfg.logs.parsers_dir.as_deref(),
    ));
    store.set_archive_rules(normalizer.clone());

    // stage channels: bounded, so a slow disk pushes back to the TCP sockets
    let (raw_tx, raw_rx) = mpsc::channel(cfg.logs.channel_batches);
    let (rec_tx, rec_rx) = std::sync::mpsc::sync_channel(cfg.logs.channel_batches);

    let retention_path = cfg
        .logs
        .retention
        .clone()
        .unwrap_or_else(|| "retention/logs.toml".into());
    let retention = crate::store::logs::archive::retention::LogRetention::load(&retention_path)
        .with_context(|| format!("cannot load {}", retention_path.display()))?;
    let retention = SharedRetention::new(retention);
    let disk = Arc::new(crate::disk::DiskFloorState::default());
    let wcfg = WriterConfig {
        retention: Some(retention.clone()),
        seal_every: Duration::from_secs(cfg.logs.seal_interval_s.max(1)),
        commit_interval: Duration::from_millis(cfg.logs.commit_interval_ms),
        memory_budget: cfg.logs.writer_memory_mb << 20,
        threads: cfg.logs.writer_threads,
        ..WriterConfig::default()
    };
    let writer_thread = {
        let (store, counters) = (store.clone(), counters.clone());
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || writer::run(store, rec_rx, wcfg, counters))?
    };
    // Monit's event records are normalized already: they join the writer's channel directly
    let monit_rec_tx = rec_tx.clone();
    let normalize_thread = {
        let (counters, normalizer) = (counters.clone(), normalizer.clone());
        std::thread::Builder::new()
            .name("normalize".into())
            .spawn(move || crate::normalize::run(raw_rx, rec_tx, counters, normalizer))?
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(reload(
        normalizer.clone(),
        retention.clone(),
        retention_path.clone(),
        stop_rx.clone(),
    ));
    tasks.spawn(crate::disk::monitor(
        cfg.data_dir.clone(),
        retention.clone(),
        disk.clone(),
        counters.clone(),
        monit_rec_tx.clone(),
        stop_rx.clone(),
    ));
    let settings = SyslogSettings {
        max_message_size: cfg.syslog.max_message_size,
        max_connections: cfg.syslog.max_connections,
        udp_recv_buffer: cfg.syslog.udp_recv_buffer,
        pause: disk.pause(),
    };
    if let Some(addr) = cfg.syslog.listen.addr() {
        if cfg.syslog.tcp {
            let l = listener::bind_tcp(addr).await?;
            tracing::info!("syslog tcp on {}", l.local_addr()?);
            tasks.spawn(listener::serve_tcp(
                l,
                raw_tx.clone(),
                settings.clone(),
                counters.clone(),
                stop_rx.clone(),
            ));
        }
        if cfg.syslog.udp {
            let s = listener::bind_udp(addr, settings.udp_recv_buffer)?;
            tracing::info!("syslog udp on {}", s.local_addr()?);
            tasks.spawn(listener::serve_udp(
                s,
                raw_tx.clone(),
                settings.clone(),
                counters.clone(),
                stop_rx.clone(),
            ));
        }
    }
    // the listeners hold the only senders now: when they finish, the pipeline drains
    drop(raw_tx);

    // Metric points from statsd flushes, Graphite plaintext and Monit reports share one
    // bounded channel into the metrics writer.
    let (points_tx, points_rx) = mpsc::channel::<Vec<MetricPoint>>(cfg.logs.channel_batches);
    let metrics = {
        let (schemas, aggregations) = load_retention(&cfg.metrics)?;
        let dir = cfg.data_dir.clone();
        let sync = Duration::from_millis(cfg.metrics.wal_sync_ms.max(1));
        let store = tokio::task::spawn_blocking(move || {
            MetricStore::open(&dir, schemas, aggregations, sync)
        })
        .await?
        .context("cannot open the metric store")?;
        Arc::new(store)
    };
    let events = {
        let dir = cfg.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || EventStore::open(&dir))
            .await?
            .context("cannot open the event store")?;
        Arc::new(store)
    };
    let metrics_thread = {
        let (store, counters) = (metrics.clone(), counters.clone());
        std::thread::Builder::new()
            .name("metrics-writer".into())
            .spawn(move || write_points(store, points_rx, counters))?
    };
    if cfg.metrics.self_interval_ms > 0 {
        tasks.spawn(self_metrics(
            counters.clone(),
            points_tx.clone(),
            Duration::from_millis(cfg.metrics.self_interval_ms),
            stop_rx.clone(),
        ));
    }
    if let Some(addr) = cfg.carbon.listen.addr() {
        let carbon_settings = crate::ingest::carbon::listener::CarbonSettings {
            max_connections: cfg.syslog.max_connections,
            udp_recv_buffer: cfg.syslog.udp_recv_buffer,
            pause: disk.pause(),
        };
        let l = listener::bind_tcp(addr).await?;
        tracing::info!("graphite plaintext tcp on {}", l.local_addr()?);
        tasks.spawn(crate::ingest::carbon::listener::serve_tcp(
            l,
            points_tx.clone(),
            carbon_settings.clone(),
            counters.clone(),
            stop_rx.clone(),
        ));
        let u = listener::bind_udp(addr, carbon_settings.udp_recv_buffer)?;
        tracing::info!("graphite plaintext udp on {}", u.local_addr()?);
        tasks.spawn(crate::ingest::carbon::listener::serve_udp(
            u,
            points_tx.clone(),
            counters.clone(),
            disk.pause(),
            stop_rx.clone(),
        ));
    }
    if let Some(addr) = cfg.statsd.listen.addr() {
        use crate::ingest::statsd::listener as statsd;
        let udp = statsd::bind_udp(addr, cfg.statsd.udp_recv_buffer)?;
        tracing::info!("statsd udp on {}", udp.local_addr()?);
        let tcp = if cfg.statsd.tcp {
            let t = statsd::bind_tcp(addr).await?;
            tracing::info!("statsd tcp on {}", t.local_addr()?);
            Some(t)
        } else {
            None
        };
        tasks.spawn(statsd::run(
            cfg.statsd.clone(),
            Some(udp),
            tcp,
            points_tx.clone(),
            counters.clone(),
            disk.pause(),
            stop_rx.clone(),
        ));
    }

    let ready = Arc::new(AtomicBool::new(false));
    let mut http_task = None;
    let mut stale_task = None;
    if let Some(addr) = cfg.http.listen.addr() {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot bind http on {addr}"))?;
        tracing::info!("http on http://{}", l.local_addr()?);
        if cfg.monit.uses_default_user() {
            tracing::warn!(
                "the monit collector accepts the default credentials monit:monit; \
                 set [monit] users in the config"
            );
        }
        let hosts = Arc::new(Inventory::new());
        stale_task = Some(tokio::spawn(stale_check(
            hosts.clone(),
            monit_rec_tx.clone(),
            counters.clone(),
            stop_rx.clone(),
        )));
        let state = AppState {
            logs: store.clone(),
            counters: counters.clone(),
            ready: ready.clone(),
            max_body_bytes: cfg.http.max_body_bytes,
            points: Some(points_tx.clone()),
            records: Some(monit_rec_tx.clone()),
            hosts,
            monit_users: cfg.monit.users.clone().into(),
            normalizer: normalizer.clone(),
            metrics: metrics.clone(),
            disk: disk.clone(),
            events: events.clone(),
        };
        let mut stop = stop_rx.clone();
        http_task = Some(tokio::spawn(async move {
            axum::serve(l, router(state))
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await
        }));
    }
    // the HTTP state and the stale check hold the only Monit senders now
    drop(monit_rec_tx);
    drop(points_tx);
    ready.store(true, Ordering::Release);
    tracing::info!("telltale ready, data in {}", cfg.data_dir.display());

    shutdown.await;
    tracing::info!("shutting down: draining listeners and committing");
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    // The HTTP state holds a sender into the log writer: the server must stop and drop it
    // before the writer can finish. In-flight requests get a graceful window, then are cut.
    if let Some(mut h) = http_task
        && tokio::time::timeout(Duration::from_secs(5), &mut h)
            .await
            .is_err()
    {
        h.abort();
        let _ = h.await;
    }
    if let Some(t) = stale_task {
        let _ = t.await;
    }
    // every points sender is gone now (listeners joined, HTTP state dropped)
    let metrics_result = tokio::task::spawn_blocking(move || metrics_thread.join()).await?;
    if metrics_result.is_err() {
        anyhow::bail!("the metrics writer thread panicked");
    }
    let m = metrics.clone();
    tokio::task::spawn_blocking(move || m.flush())
        .await?
        .context("cannot flush the metric store")?;
    let threads = tokio::task::spawn_blocking(move || {
        let n = normalize_thread.join();
        let w = writer_thread.join();
        (n, w)
    })
    .await?;
    if threads.0.is_err() {
        anyhow::bail!("the normalize thread panicked");
    }
    match threads.1 {
        Ok(r) => r.context("the log writer failed")?,
        Err(_) => anyhow::bail!("the log writer thread panicked"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// How often the Monit inventory looks for silent hosts; small against any poll interval.
const STALE_CHECK_EVERY: Duration = Duration::from_secs(2);

/// Marks Monit hosts silent for 3 poll cycles as stale and logs it, until shutdown.
async fn stale_check(
    hosts: Arc<Inventory>,
    records: std::sync::mpsc::SyncSender<RecordBatch>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(STALE_CHECK_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let stale = hosts.sweep(crate::model::time::now_ns());
        if stale.is_empty() {
            continue;
        }
        counters
            .monit_events
            .fetch_add(stale.len() as u64, Ordering::Relaxed);
        if let Err(std::sync::mpsc::TrySendError::Full(r)) = records.try_send(stale.into()) {
            // rare and worth keeping: wait for room off the executor
            let tx = records.clone();
            tokio::task::spawn_blocking(move || {
                let _ = tx.send(r);
            });
        }
    }
}

/// Stores telltale's own counters as metrics `telltale.<counter>` (cumulative, like the
/// Prometheus counters at `/metrics`: graph them with `perSecond()`), so the same dashboards
/// and alerts that watch the fleet watch telltale.
async fn self_metrics(
    counters: Arc<Counters>,
    tx: mpsc::Sender<Vec<MetricPoint>>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        let timestamp = crate::model::time::now_ns().div_euclid(1_000_000_000);
        let points = counters
            .snapshot()
            .into_iter()
            .map(|(name, _, v)| MetricPoint {
                name: format!("telltale.{name}"),
                value: v as f64,
                timestamp,
            })
            .collect();
        // never wait on a full pipeline for our own numbers
        let _ = tx.try_send(points);
    }
}

/// The metrics writer: a plain thread (the store's writes do blocking I/O). A failed write is
/// logged and counted, never fatal: the next batch may well succeed (e.g. after disk space
/// returns).
fn write_points(
    store: Arc<MetricStore>,
    mut rx: mpsc::Receiver<Vec<MetricPoint>>,
    counters: Arc<Counters>,
) {
    while let Some(batch) = rx.blocking_recv() {
        match store.write(&batch) {
            Ok(()) => {
                counters
                    .metric_points_written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                counters
                    .metric_write_errors
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::error!("metric store write failed ({} points): {e}", batch.len());
            }
        }
    }
}

/// Graphite's retention files: the configured paths, else `retention/` in the working
/// directory, else the shipped defaults compiled in (so a bare `telltale serve` works).
fn load_retention(cfg: &crate::config::MetricsConfig) -> anyhow::Result<(Schemas, Aggregations)> {
    let pick = |set: &Option<std::path::PathBuf>, name: &str| {
        set.clone().or_else(|| {
            let p = std::path::Path::new("retention").join(name);
            p.is_file().then_some(p)
        })
    };
    let schemas = match pick(&cfg.schemas, "storage-schemas.conf") {
        Some(p) => Schemas::load(&p)?,
        None => Schemas::parse(
            "storage-schemas.conf (built in)",
            include_str!("../retention/storage-schemas.conf"),
        )?,
    };
    let aggregations = match pick(&cfg.aggregations, "storage-aggregation.conf") {
        Some(p) => Aggregations::load(&p)?,
        None => Aggregations::parse(
            "storage-aggregation.conf (built in)",
            include_str!("../retention/storage-aggregation.conf"),
        )?,
    };
    Ok((schemas, aggregations))
}

/// How often the retention file's modification time and size are compared: cheap (one
/// stat), and a policy change is not urgent to the second.
const RETENTION_POLL: Duration = Duration::from_secs(2);

/// Reloads without a restart, as daemons do: SIGHUP re-reads the rule files (`parsers/`) and
/// the retention policy; the policy is also re-read when its file changes (polled, so no file
/// watcher dependency). An invalid policy file is logged as `file:line: reason` and the
/// policy in force stays.
async fn reload(
    normalizer: Arc<crate::normalize::SharedNormalizer>,
    retention: SharedRetention,
    path: std::path::PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    // file system calls, tiny but blocking: on the blocking pool
    let stamp = |p: std::path::PathBuf| async move {
        tokio::task::spawn_blocking(move || {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.modified().ok(), m.len()))
        })
        .await
        .ok()
        .flatten()
    };
    let mut seen = stamp(path.clone()).await;
    let mut poll = tokio::time::interval(RETENTION_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        // Some(true) on SIGHUP, None when the signal stream is gone (then only polling)
        #[cfg(unix)]
        let hangup = async {
            match hup.as_mut() {
                Some(h) => h.recv().await.map(|()| true),
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<Option<bool>>();
        let by_signal = tokio::select! {
            _ = stop.changed() => return,
            h = hangup => h,
            _ = poll.tick() => Some(false),
        };
        let Some(by_signal) = by_signal else {
            #[cfg(unix)]
            {
                hup = None;
            }
            continue;
        };
        if by_signal {
            let n = normalizer.clone();
            // rule compilation is CPU work: off the executor
            let _ = tokio::task::spawn_blocking(move || n.reload()).await;
        }
        let now = stamp(path.clone()).await;
        if !by_signal && now == seen {
            continue;
        }
        seen = now;
        let p = path.clone();
        let loaded = match tokio::task::spawn_blocking(move || LogRetention::load(&p)).await {
            Ok(r) => r,
            Err(_) => continue,
        };
        match loaded {
            Ok(p) if *retention.get() == p => {}
            Ok(p) => {
                tracing::info!(
                    "retention policy reloaded from {}: hot_days {}, archive {}, {} app and {} host overrides",
                    path.display(),
                    p.hot_days,
                    p.archive,
                    p.apps.len(),
                    p.hosts.len()
                );
                retention.set(p);
            }
            Err(e) => tracing::error!("{e}; keeping the previous retention policy"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
