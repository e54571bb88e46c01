//! Issue 5: the requests Grafana's Graphite data source sends, byte for byte as it builds
//! them, answered by the real server. The shapes come from grafana/grafana
//! `public/app/plugins/datasource/graphite/datasource.ts` (commit 46831bf7), quoted at each
//! step below.

use std::io::{Read, Write};
use std::net::TcpStream;
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

/// One HTTP/1.1 request on its own connection; `(status, body)`.
pub fn request(
    s: &Server,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let addr = s.http.trim_start_matches("http://");
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let ct = content_type
        .map(|t| format!("Content-Type: {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).expect("write");
    c.write_all(body).expect("write body");
    let mut resp = Vec::new();
    c.read_to_end(&mut resp).expect("read");
    let end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head");
    let head = String::from_utf8_lossy(&resp[..end]).to_string();
    assert!(
        !head.to_ascii_lowercase().contains("chunked"),
        "chunked answer: {head}"
    );
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, resp[end + 4..].to_vec())
}

/// A request whose answer must be 200 and JSON.
fn json_ok(s: &Server, method: &str, path: &str, ct: Option<&str>, body: &str) -> Value {
    let (status, b) = request(s, method, path, ct, body.as_bytes());
    let text = String::from_utf8_lossy(&b);
    assert_eq!(status, 200, "{method} {path} {body}: {text}");
    serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

/// JavaScript's `encodeURIComponent`.
fn encode_uri_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What `query()` + `buildGraphiteParams()` post for one panel target: the target wrapped as
/// ``aliasSub(${target.target}, "(^.*$)", "\\1 ${formattedRefId}")``, then `target=` +
/// `encodeURIComponent(targetValue)`, then the options in `graphOptions` order (`from`,
/// `until`, `format` forced to `'json'`, `maxDataPoints`), each `key + '=' +
/// encodeURIComponent(value)`, joined with `&`.
fn grafana_render_body(target: &str, ref_id: &str, from: &str, until: &str, mdp: u32) -> String {
    let wrapped = format!("aliasSub({target}, \"(^.*$)\", \"\\1 {ref_id}\")");
    format!(
        "target={}&from={}&until={}&format=json&maxDataPoints={mdp}",
        encode_uri_component(&wrapped),
        encode_uri_component(from),
        encode_uri_component(until)
    )
}

/// A panel query: `method: 'POST', url: '/render', data: params.join('&'), headers:
/// {'Content-Type': 'application/x-www-form-urlencoded'}`.
fn grafana_render(s: &Server, body: &str) -> Value {
    json_ok(
        s,
        "POST",
        "/render",
        Some("application/x-www-form-urlencoded"),
        body,
    )
}

/// Grafana takes the ref id back from the last space-separated word of each `target`.
fn split_ref(target: &Value) -> (String, String) {
    let t = target.as_str().expect("target");
    let (name, r) = t.rsplit_once(' ').expect("ref id suffix");
    (name.to_string(), r.to_string())
}

#[test]
fn issue5_grafana_request_patterns_are_answered() {
    let s = Server::start("");
    let t = (now() - 120) / 10 * 10;
    let mut c = TcpStream::connect(s.carbon).expect("connect carbon");
    for (host, dc, v) in [
        ("web1", "ams", 1.0),
        ("web2", "ams", 2.0),
        ("db1", "fra", 4.0),
    ] {
        for k in 0..6 {
            writeln!(
                c,
                "app.req;host={host};dc={dc} {} {}",
                v * 10.0 + k as f64,
                t + 10 * k
            )
            .expect("write");
        }
    }
    writeln!(c, "servers.web1.cpu 50 {t}").expect("write");
    drop(c);
    assert_eq!(s.wait_counter("metric_points_written", 19, WAIT), 19);

    // "Save & test": testDatasource() queries `targets: [{ refId: 'A', target:
    // 'constantLine(100)' }]` over `rangeRaw: { from: 'now-1h', to: 'now' }` with
    // `maxDataPoints: 300`; translateTime() turns 'now-1h' into '-1h' (`date.substring(3)`)
    // and keeps 'now'.
    let r = grafana_render(
        &s,
        &grafana_render_body("constantLine(100)", "A", "-1h", "now", 300),
    );
    let series = r.as_array().expect("list");
    assert_eq!(series.len(), 1, "{r}");
    let (name, ref_id) = split_ref(&series[0]["target"]);
    assert_eq!((name.as_str(), ref_id.as_str()), ("100.0", "A"), "{r}");
    assert!(
        series[0]["datapoints"]
            .as_array()
            .expect("points")
            .iter()
            .all(|p| p[0] == 100.0),
        "{r}"
    );

    // `getFuncDefs()`: one `GET /functions` (responseType 'text'), after which Grafana runs
    // `JSON.parse(results.data.replace(/"default": ?Infinity/g, '"default": 1e9999'))`
    let (status, body) = request(&s, "GET", "/functions", None, b"");
    assert_eq!(status, 200);
    let text = String::from_utf8(body).expect("utf-8");
    let funcs: Value = serde_json::from_str(&text.replace("1e9999", "1e308")).expect("strict json");
    for f in [
        "seriesByTag",
        "groupByTags",
        "aliasByTags",
        "aliasSub",
        "events",
        "constantLine",
    ] {
        assert_eq!(funcs[f]["name"], f, "{f} missing from /functions");
    }
    assert_eq!(funcs["seriesByTag"]["params"][0]["multiple"], true);

    // A dashboard panel over an absolute range: translateTime() gives `parsedDate.unix()`
    // epochs, `from` stepped back a second and `until` forward when they are not on a minute
    let (from, until) = ((t - 61).to_string(), (t + 61).to_string());
    let r = grafana_render(
        &s,
        &grafana_render_body(
            "seriesByTag('name=app.req', 'dc=ams')",
            "B",
            &from,
            &until,
            5,
        ),
    );
    let series = r.as_array().expect("list");
    let names: Vec<(String, String)> = series.iter().map(|x| split_ref(&x["target"])).collect();
    assert_eq!(
        names,
        [
            ("app.req;dc=ams;host=web1".to_string(), "B".to_string()),
            ("app.req;dc=ams;host=web2".to_string(), "B".to_string())
        ],
        "{r}"
    );
    // tags survive aliasSub; maxDataPoints=5 consolidates 13 slots by 3
    assert_eq!(series[0]["tags"]["host"], "web1");
    assert!(
        series[0]["datapoints"].as_array().expect("points").len() <= 5,
        "{r}"
    );
    let r = grafana_render(
        &s,
        &grafana_render_body(
            "groupByTags(seriesByTag('name=app.req'), 'sum', 'dc')",
            "C",
            &from,
            &until,
            100,
        ),
    );
    let groups: Vec<String> = r
        .as_array()
        .expect("list")
        .iter()
        .map(|x| split_ref(&x["target"]).0)
        .collect();
    assert_eq!(groups, ["app.req;dc=ams", "app.req;dc=fra"], "{r}");
    let r = grafana_render(
        &s,
        &grafana_render_body(
            "aliasByTags(seriesByTag('dc=fra'), 'host', 'dc')",
            "D",
            &from,
            &until,
            100,
        ),
    );
    assert_eq!(split_ref(&r[0]["target"]).0, "db1.fra", "{r}");

    // requestMetricFind(): `method: 'POST', url: '/metrics/find', params: {from, until},
    // data: `query=${query}`` (form content type, the query itself not encoded)
    let found = json_ok(
        &s,
        "POST",
        &format!("/metrics/find?from={from}&until={until}"),
        Some("application/x-www-form-urlencoded"),
        "query=servers.*",
    );
    assert_eq!(found[0]["text"], "web1", "{found}");
    assert_eq!(found[0]["expandable"], 1);

    // getTagsAutoComplete(): `GET /tags/autoComplete/tags` with params `expr` (an array,
    // sent as repeated `expr=`), `tagPrefix` when typed, `limit` when set (10000 for
    // template variables), `from`/`until` when a range is known
    let tags = json_ok(
        &s,
        "GET",
        &format!("/tags/autoComplete/tags?expr=name%3Dapp.req&from={from}&until={until}"),
        None,
        "",
    );
    assert_eq!(tags, serde_json::json!(["dc", "host"]));
    let tags = json_ok(
        &s,
        "GET",
        "/tags/autoComplete/tags?tagPrefix=h&limit=10000",
        None,
        "",
    );
    assert_eq!(tags, serde_json::json!(["host"]));
    // getTagValuesAutoComplete(): `expr`, `tag`, `valuePrefix`, `limit`
    let values = json_ok(
        &s,
        "GET",
        "/tags/autoComplete/values?expr=name%3Dapp.req&expr=dc%3Dams&tag=host&limit=10000",
        None,
        "",
    );
    assert_eq!(values, serde_json::json!(["web1", "web2"]));
    let values = json_ok(
        &s,
        "GET",
        "/tags/autoComplete/values?expr=name%3Dapp.req&tag=host&valuePrefix=w&limit=1",
        None,
        "",
    );
    assert_eq!(values, serde_json::json!(["web1"]));

    // Annotations from events: `url: `/events/get_data?from=${from}&until=${until}${tagsQueryParam}``
    // with `tagsQueryParam = `&tags=${tags}`` and tags joined by ' ' (the browser sends the
    // space as %20); Grafana reads `e.when * 1000`, `e.what`, `e.tags`, `e.data`.
    for body in [
        format!(
            r#"{{"what":"deploy web","tags":["deploy","web"],"data":"v1.2","when":{}}}"#,
            t + 10
        ),
        format!(
            r#"{{"what":"deploy db","tags":"deploy db","when":{}}}"#,
            t + 20
        ),
    ] {
        let (status, b) = request(
            &s,
            "POST",
            "/events/",
            Some("application/json"),
            body.as_bytes(),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&b));
    }
    let ev = json_ok(
        &s,
        "GET",
        &format!("/events/get_data?from={from}&until={until}&tags=deploy%20web"),
        None,
        "",
    );
    assert_eq!(ev.as_array().map(Vec::len), Some(1), "{ev}");
    assert_eq!(ev[0]["what"], "deploy web");
    assert_eq!(ev[0]["when"], t + 10);
    assert_eq!(ev[0]["tags"], serde_json::json!(["deploy", "web"]));
    assert_eq!(ev[0]["data"], "v1.2");
    // events() as a panel target, drawn with drawAsInfinite
    let r = grafana_render(
        &s,
        &grafana_render_body("drawAsInfinite(events('deploy'))", "E", &from, &until, 1000),
    );
    let hits: Vec<i64> = r[0]["datapoints"]
        .as_array()
        .expect("points")
        .iter()
        .filter(|p| !p[0].is_null())
        .map(|p| p[1].as_i64().expect("ts"))
        .collect();
    assert_eq!(hits, [t + 10, t + 20], "{r}");

    // bad input is a 400 whose message says what to fix
    for (method, path, ct, body, msg) in [
        ("GET", "/tags?limit=ten", None, "", "invalid 'limit': ten"),
        (
            "GET",
            "/tags?filter=(",
            None,
            "",
            "invalid regular expression",
        ),
        (
            "GET",
            "/tags/findSeries?expr=host%3D~(",
            None,
            "",
            "invalid regular expression",
        ),
        (
            "POST",
            "/events/",
            Some("application/json"),
            "{\"what\":",
            "event body is not valid JSON",
        ),
        (
            "POST",
            "/events/",
            Some("application/json"),
            "{\"tags\":\"a\"}",
            "\"what\" is required",
        ),
        (
            "POST",
            "/tags/tagSeries",
            Some("application/x-www-form-urlencoded"),
            "path=a%3Bb",
            "invalid segment b",
        ),
        (
            "GET",
            "/events/get_data?from=yesterdayish",
            None,
            "",
            "invalid 'from'",
        ),
    ] {
        let (status, b) = request(&s, method, path, ct, body.as_bytes());
        let text = String::from_utf8_lossy(&b);
        assert_eq!(status, 400, "{method} {path}: {text}");
        let err: Value = serde_json::from_slice(&b).expect("json error");
        let err = err["error"].as_str().unwrap_or_default();
        assert!(err.contains(msg), "{method} {path}: {text}");
    }
    // a bad tag expression is a 400 that says what is wrong
    let (status, b) = request(
        &s,
        "POST",
        "/render",
        Some("application/x-www-form-urlencoded"),
        grafana_render_body("seriesByTag('dc!=ams')", "F", &from, &until, 100).as_bytes(),
    );
    assert_eq!(status, 400);
    assert!(
        String::from_utf8_lossy(&b)
            .contains("At least one tagspec must not match the empty string"),
        "{}",
        String::from_utf8_lossy(&b)
    );
}
