//! Issue 4 end to end: Graphite plaintext and statsd into the metric store, read back through
//! the Graphite API; a kill -9 loses at most the WAL sync interval.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::harness::Server;

const WAIT: Duration = Duration::from_secs(20);

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// The value at `ts` in a render answer's series named `name`.
fn value_at(render: &Value, name: &str, ts: i64) -> Option<f64> {
    let series = render.as_array()?.iter().find(|s| s["target"] == name)?;
    series["datapoints"]
        .as_array()?
        .iter()
        .find(|p| p[1].as_i64() == Some(ts))
        .and_then(|p| p[0].as_f64())
}

#[test]
fn issue4_carbon_plaintext_over_tcp_and_udp_is_queryable_and_bad_lines_are_counted() {
    let s = Server::start("");
    let t = (now() - 120) / 10 * 10;
    let mut c = TcpStream::connect(s.carbon).expect("connect carbon");
    write!(
        c,
        "web1.cpu.user 42.5 {t}\nthis line is broken\nweb1.cpu.user nan {t}\n\
         cpu;host=web1;dc=ams 7 {t}\nmem{{host=\"web1\",dc=\"ams\"}} 8 {t}\nweb1.cpu.user 43 {}\n",
        t + 10
    )
    .expect("write");
    c.flush().expect("flush");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.send_to(
        format!("web2.load 1.25 {t}\nweb2.load 2.5 {}\n", t + 10).as_bytes(),
        s.carbon,
    )
    .expect("send");
    assert_eq!(
        s.wait_counter("metric_points_written", 6, WAIT),
        6,
        "{}",
        s.log()
    );
    assert_eq!(s.counter("carbon_rejected"), 1);
    assert_eq!(s.counter("carbon_nan_dropped"), 1);

    let range = format!("from={}&until={}", t - 10, t + 20);
    let r = s.render(&format!("target=web1.cpu.user&{range}"));
    assert_eq!(value_at(&r, "web1.cpu.user", t), Some(42.5), "{r}");
    assert_eq!(value_at(&r, "web1.cpu.user", t + 10), Some(43.0), "{r}");
    // a glob, series sorted by name; UDP points arrived too
    let r = s.render(&format!("target=web*.*&target=web2.load&{range}"));
    assert_eq!(value_at(&r, "web2.load", t + 10), Some(2.5), "{r}");
    // tags normalized as carbon does (sorted), both syntaxes
    let r = s.render(&format!("target=cpu;dc=ams;host=web1&{range}"));
    assert_eq!(value_at(&r, "cpu;dc=ams;host=web1", t), Some(7.0), "{r}");
    assert_eq!(r[0]["tags"]["dc"], "ams");
    let r = s.render(&format!("target=mem;dc=ams;host=web1&{range}"));
    assert_eq!(value_at(&r, "mem;dc=ams;host=web1", t), Some(8.0), "{r}");

    // the same connection survived the bad line
    writeln!(c, "web1.after 1 {t}").expect("write");
    drop(c);
    assert_eq!(s.wait_counter("metric_points_written", 7, WAIT), 7);

    let (st, body) = s.get("/metrics/find?query=web1.*");
    assert_eq!(st, 200);
    let found: Value = serde_json::from_slice(&body).expect("json");
    let ids: Vec<&str> = found
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["web1.cpu", "web1.after"],
        "branches first, then leaves: {found}"
    );
    let r = s.render(&format!("target=sumSeries(web1.cpu.*)&{range}"));
    assert_eq!(value_at(&r, "sumSeries(web1.cpu.*)", t), Some(42.5), "{r}");
    assert_eq!(
        value_at(&r, "sumSeries(web1.cpu.*)", t + 10),
        Some(43.0),
        "{r}"
    );
    // template() takes its values from template[name] URL parameters too
    let r = s.render(&format!(
        "target=template(sumSeries(web1.cpu.$m),m='none')&template[m]=*&{range}"
    ));
    assert_eq!(value_at(&r, "sumSeries(web1.cpu.*)", t), Some(42.5), "{r}");
}

#[test]
fn issue4_statsd_flushes_etsy_names_into_the_store() {
    // Flushes every 500 ms land in 10 s slots, where the last write wins: idle stats are
    // deleted so a later (empty) flush cannot overwrite the one with data, and everything is
    // sent in one multi-line datagram so it cannot straddle two flushes.
    let s = Server::start("[statsd]\nflush_interval_ms = 500\ndelete_idle_stats = true\n");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.send_to(
        b"shop.orders:1|c\nshop.orders:2|c|@0.5\nshop.latency:100|ms\nshop.latency:300|ms\n\
          shop.temp:21|g\nshop.users:alice|s\nshop.users:bob|s\nshop.users:alice|s",
        s.statsd,
    )
    .expect("send");
    // the flush lands in the 10 s slot of its timestamp; look at the last minute
    let deadline = std::time::Instant::now() + WAIT;
    let want = [
        ("stats_counts.shop.orders", 5.0),
        ("stats.timers.shop.latency.upper", 300.0),
        ("stats.timers.shop.latency.count", 2.0),
        ("stats.gauges.shop.temp", 21.0),
        ("stats.sets.shop.users.count", 2.0),
    ];
    loop {
        let mut missing = Vec::new();
        for (name, v) in want {
            let r = s.render(&format!("target={name}&from=-2min"));
            let vals: Vec<f64> = r[0]["datapoints"]
                .as_array()
                .map(|d| d.iter().filter_map(|p| p[0].as_f64()).collect())
                .unwrap_or_default();
            if !vals.contains(&v) {
                missing.push(format!("{name} {vals:?}"));
            }
        }
        if missing.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "missing {missing:?}; log: {}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// kill -9 loses at most the WAL sync interval (1 s by default): points written more than
/// a sync interval before the kill are all there after a restart.
#[test]
fn issue4_kill9_keeps_every_point_synced_before_the_kill() {
    let mut s = Server::start("[metrics]\nwal_sync_ms = 200\n");
    let t = (now() - 3600) / 10 * 10;
    let mut payload = String::new();
    for i in 0..300 {
        for k in 0..10 {
            payload.push_str(&format!("dur.s{k} {}.5 {}\n", i, t + 10 * i));
        }
    }
    let mut c = TcpStream::connect(s.carbon).expect("connect");
    c.write_all(payload.as_bytes()).expect("write");
    drop(c);
    assert_eq!(s.wait_counter("metric_points_written", 3000, WAIT), 3000);
    std::thread::sleep(Duration::from_millis(1200));
    s.kill9();
    s.restart();
    let r = s.render(&format!("target=dur.*&from={}&until={}", t - 10, t + 3000));
    let series = r.as_array().expect("array");
    assert_eq!(series.len(), 10, "{r}");
    for sr in series {
        let n = sr["datapoints"]
            .as_array()
            .expect("dps")
            .iter()
            .filter(|p| p[0].is_number())
            .count();
        assert_eq!(n, 300, "{}", sr["target"]);
    }
}

/// telltale's own counters are stored as `telltale.*` metrics, readable like any other.
#[test]
fn self_counters_are_stored_as_telltale_metrics() {
    let s = Server::start("[metrics]\nself_interval_ms = 100\n");
    s.send_tcp(b"<13>Nov 24 16:00:00 h app: one\n<13>Nov 24 16:00:00 h app: two\n");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let r = s.render("target=telltale.syslog_tcp_received&from=-5min");
        let seen = r[0]["datapoints"]
            .as_array()
            .is_some_and(|d| d.iter().any(|p| p[0].as_f64() == Some(2.0)));
        if seen {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{r}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, body) = s.get("/metrics/find?query=telltale.*");
    assert!(String::from_utf8_lossy(&body).contains("telltale.logs_committed"));
}

#[test]
fn issue5_render_evaluates_graphite_functions_over_carbon_points() {
    let s = Server::start("");
    let t = (now() - 300) / 10 * 10;
    let mut c = TcpStream::connect(s.carbon).expect("connect carbon");
    for (i, (a, b)) in [(1.0, 10.0), (2.0, 20.0), (3.0, 30.0), (4.0, 40.0)]
        .into_iter()
        .enumerate()
    {
        let ts = t + 10 * i as i64;
        write!(c, "srv.web1.load {a} {ts}\nsrv.web2.load {b} {ts}\n").expect("write");
    }
    c.flush().expect("flush");
    drop(c);
    assert_eq!(
        s.wait_counter("metric_points_written", 8, WAIT),
        8,
        "{}",
        s.log()
    );
    let range = format!("from={}&until={}", t - 10, t + 40);

    let r = s.render(&format!("target=sumSeries(srv.*.load)&{range}"));
    assert_eq!(
        value_at(&r, "sumSeries(srv.*.load)", t + 10),
        Some(22.0),
        "{r}"
    );
    assert_eq!(r[0]["tags"]["aggregatedBy"], "sum", "{r}");

    let r = s.render(&format!("target=aliasByNode(srv.*.load,1)&{range}"));
    let names: Vec<&str> = r
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["target"].as_str())
        .collect();
    assert_eq!(names, ["web1", "web2"], "{r}");
    assert_eq!(value_at(&r, "web2", t + 30), Some(40.0), "{r}");

    // the window before `from` is fetched, so the first rendered point is complete
    let r = s.render(&format!(
        "target=movingAverage(srv.web1.load,2)&from={}&until={}",
        t + 10,
        t + 40
    ));
    let name = "movingAverage(srv.web1.load,2)";
    assert_eq!(value_at(&r, name, t + 20), Some(1.5), "{r}");
    assert_eq!(value_at(&r, name, t + 30), Some(2.5), "{r}");

    // pipe syntax
    let r = s.render(&format!("target=srv.web1.load%7Cscale(2)&{range}"));
    assert_eq!(
        value_at(&r, "scale(srv.web1.load,2)", t + 30),
        Some(8.0),
        "{r}"
    );

    // functions that fetch again over another range line up with the plain fetch
    let times = |r: &Value| -> Vec<i64> {
        r[0]["datapoints"]
            .as_array()
            .expect("points")
            .iter()
            .filter_map(|p| p[1].as_i64())
            .collect()
    };
    let plain = s.render(&format!("target=srv.web1.load&{range}"));
    let hw = s.render(&format!(
        "target=holtWintersForecast(srv.web1.load,'1h','20s')&{range}"
    ));
    assert_eq!(
        hw[0]["target"], "holtWintersForecast(srv.web1.load)",
        "{hw}"
    );
    assert_eq!(times(&hw), times(&plain), "{hw}");
    let lr = s.render(&format!("target=linearRegression(srv.web1.load)&{range}"));
    let at = value_at(
        &lr,
        &format!("linearRegression(srv.web1.load, {}, {})", t - 10, t + 40),
        t + 40,
    );
    assert!(at.is_some_and(|v| (v - 5.0).abs() < 1e-9), "{lr}");

    let (st, body) = s.get("/render?target=noSuchFunction(srv.*.load)");
    assert_eq!(st, 400);
    assert!(String::from_utf8_lossy(&body).contains("unknown function noSuchFunction"));

    let (st, body) = s.get("/functions/keepLastValue");
    assert_eq!(st, 200);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("1e9999"), "{text}");
    // 1e9999 is valid JSON grammar (JavaScript and Python read it as infinity); serde_json
    // refuses it as out of range, so it is swapped before parsing here
    let v: Value = serde_json::from_str(&text.replace("1e9999", "0")).expect("strict json");
    assert_eq!(v["group"], "Transform");
    let (st, _) = s.get("/functions/nope");
    assert_eq!(st, 404);
    let (st, body) = s.get("/functions");
    assert_eq!(st, 200);
    let text = String::from_utf8_lossy(&body).replace("1e9999", "0");
    let v: Value = serde_json::from_str(&text).expect("strict json");
    assert!(v["sumSeries"]["params"].is_array(), "{v}");
}
