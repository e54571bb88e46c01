//! Issue 5: the tag database and events against graphite-web 1.1.8. The same small tagged
//! dataset went into carbon + graphite-web and goes into telltale here; every request of
//! `fixtures/graphite-tags/peer.json` (recorded by its `record.py`) is replayed in order and
//! must get graphite-web's answer. Row ids (graphite-web's database ids) are not compared;
//! render answers are compared by series name, tags and non-null values (the data's
//! timestamps differ between the recording and this run). Where graphite-web answered 500
//! (it crashed on the input), telltale must answer 400 with a message.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::grafana_e2e::request;
use crate::harness::Server;

const WAIT: Duration = Duration::from_secs(20);

/// The answer without graphite-web's row ids.
fn strip_ids(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| *k != "id")
                .map(|(k, v)| (k.clone(), strip_ids(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_ids).collect()),
        other => other.clone(),
    }
}

/// Every number as an f64, so `1` and `1.0` compare equal.
fn as_floats(v: &Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Null, Value::from),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), as_floats(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(as_floats).collect()),
        other => other.clone(),
    }
}

/// A render answer as `(target, tags, distinct non-null values)` per series (each series of
/// the dataset has one value, written once per recording into the peer's shared store).
fn render_shape(v: &Value) -> Vec<(Value, Value, Vec<f64>)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let mut values: Vec<f64> = s["datapoints"]
                        .as_array()
                        .map(|p| p.iter().filter_map(|p| p[0].as_f64()).collect())
                        .unwrap_or_default();
                    values.sort_by(f64::total_cmp);
                    values.dedup();
                    (s["target"].clone(), s["tags"].clone(), values)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn issue5_tag_database_and_events_answer_as_graphite_web() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/graphite-tags/peer.json")).expect("peer.json");
    let mut s = Server::start("");
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 10
        * 10
        - 60;
    let dataset = fixture["dataset"].as_array().expect("dataset");
    let mut c = TcpStream::connect(s.carbon).expect("connect carbon");
    for d in dataset {
        writeln!(c, "{} {} {t}", d[0].as_str().expect("path"), d[1]).expect("write");
    }
    drop(c);
    let n = dataset.len() as u64;
    assert_eq!(s.wait_counter("metric_points_written", n, WAIT), n);

    let mut compared = 0;
    for x in fixture["exchanges"].as_array().expect("exchanges") {
        let (method, path) = (
            x["method"].as_str().expect("m"),
            x["path"].as_str().expect("p"),
        );
        let body = x["body"].as_str();
        let ct = body.map(|_| {
            if path.starts_with("/events") {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            }
        });
        let (status, got) = request(&s, method, path, ct, body.unwrap_or("").as_bytes());
        let text = String::from_utf8_lossy(&got).to_string();
        let want_status = x["status"].as_u64().expect("status") as u16;
        if want_status == 500 {
            // graphite-web crashed on bad input; telltale must refuse it with a message
            assert_eq!(status, 400, "{method} {path}: {text}");
            assert!(text.contains("error"), "{method} {path}: {text}");
            compared += 1;
            continue;
        }
        assert_eq!(status, want_status, "{method} {path} {body:?}: {text}");
        let want = &x["answer"];
        if want.is_null() && text.is_empty() || want_status == 405 {
            compared += 1;
            continue;
        }
        let got: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        if path.starts_with("/render") {
            assert_eq!(render_shape(&got), render_shape(want), "{method} {path}");
            if path.contains("events") {
                // absolute range: the whole answer must agree (integers as floats: telltale's
                // values are all f64, see COMPATIBILITY.md)
                assert_eq!(as_floats(&got), as_floats(want), "{method} {path}");
            }
        } else {
            assert_eq!(strip_ids(&got), strip_ids(want), "{method} {path} {body:?}");
        }
        compared += 1;
    }
    assert!(compared >= 50, "only {compared} exchanges compared");

    // deletions, tagged-only series and events survive a restart
    s.restart();
    let (_, b) = request(&s, "GET", "/tags/findSeries?expr=name%3Dgt.cpu", None, b"");
    let v: Value = serde_json::from_slice(&b).expect("json");
    assert_eq!(
        v,
        serde_json::json!(["gt.cpu;gtdc=ams;gthost=web1", "gt.cpu;gtdc=ams;gthost=web2"])
    );
    let (_, b) = request(&s, "GET", "/tags/findSeries?expr=gtdc%3Dber", None, b"");
    let v: Value = serde_json::from_slice(&b).expect("json");
    assert_eq!(
        v,
        serde_json::json!(["gt.b;gtdc=ber", "gt.tagonly;gtdc=ber"])
    );
    let last_events = fixture["exchanges"]
        .as_array()
        .expect("exchanges")
        .iter()
        .find(|x| {
            x["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/events/get_data"))
        })
        .expect("an events exchange");
    let (_, b) = request(
        &s,
        "GET",
        last_events["path"].as_str().expect("p"),
        None,
        b"",
    );
    let v: Value = serde_json::from_slice(&b).expect("json");
    assert_eq!(strip_ids(&v), strip_ids(&last_events["answer"]));
}
