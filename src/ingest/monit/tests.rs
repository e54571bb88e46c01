//! Golden captures (real Monit 5.33 POSTs from `ingest-tests/golden/monit/`), hostile input and
//! properties.

use std::io::Write;

use proptest::prelude::*;

use super::convert::{event_record, metrics, sanitize};
use super::inventory::Inventory;
use super::model::ServiceType;
use super::xml::{MAX_BODY, MAX_DEPTH, MonitXmlError, parse, parse_document};
use crate::model::MetricPoint;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ingest-tests/golden/monit");

/// The body of a captured HTTP request (after the blank line).
fn body(name: &str) -> Vec<u8> {
    let raw = std::fs::read(format!("{GOLDEN}/{name}")).unwrap();
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    raw[at + 4..].to_vec()
}

fn value(points: &[MetricPoint], name: &str) -> f64 {
    points
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
        .value
}

fn approx(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-6 * b.abs().max(1.0), "{a} != {b}");
}

const ALL: [&str; 10] = [
    "01-monit-started-event.http",
    "02-initial-status-no-data.http",
    "03-periodic-status.http",
    "04-program-status-failed-event.http",
    "05-program-status-succeeded-event.http",
    "06-file-checksum-changed-event.http",
    "07-file-size-failed-event.http",
    "08-monit-stopped-event.http",
    "09-monit-started-event-with-httpd-credentials.http",
    "10-all-service-types-status.http",
];

#[test]
fn every_capture_parses_with_identity_and_services() {
    for name in ALL {
        let r = parse(&body(name), false).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.version, "5.33.0", "{name}");
        assert_eq!(r.id.len(), 32, "{name}");
        assert!(r.incarnation > 1_795_000_000, "{name}");
        assert!(!r.services.is_empty(), "{name}");
        // every service reports status and monitor at every report
        let points = metrics(&r, 0);
        for s in &r.services {
            let host = sanitize(&r.server.localhostname);
            let st = value(
                &points,
                &format!("monit.{host}.{}.status", sanitize(&s.name)),
            );
            assert_eq!(st, if s.failing() { 1.0 } else { 0.0 }, "{name}");
        }
    }
}

#[test]
fn started_event_is_an_info_record_with_server_and_platform() {
    let r = parse(&body("01-monit-started-event.http"), false).unwrap();
    assert_eq!(r.id, "3d6cdc8555bbfebf9942d087935b7486");
    assert_eq!(r.incarnation, 1_795_537_824);
    assert_eq!(r.server.poll, Some(5));
    assert_eq!(r.server.uptime, Some(0));
    assert_eq!(r.server.localhostname, "localhost");
    assert_eq!(
        r.server.controlfile.as_deref(),
        Some("/tmp/peers/monit/monitrc")
    );
    let httpd = r.server.httpd.as_ref().unwrap();
    assert_eq!(httpd.port, Some(22812));
    assert!(!httpd.ssl);
    assert_eq!(r.platform.name, "Linux");
    assert_eq!(r.platform.machine, "x86_64");
    assert_eq!(r.platform.cpu, Some(2));
    assert_eq!(r.platform.memory_kb, Some(24_684_084));
    assert_eq!(r.services.len(), 4);
    assert_eq!(r.services[0].kind, ServiceType::System);
    assert_eq!(r.services[1].kind, ServiceType::Process);
    assert_eq!(r.services[2].kind, ServiceType::File);
    assert_eq!(r.services[3].kind, ServiceType::Program);
    // initializing: no data sections yet
    assert!(
        r.services
            .iter()
            .all(|s| s.monitor == 2 && s.system.is_none())
    );
    let e = r.event.as_ref().unwrap();
    assert_eq!(e.service, "Monit");
    assert_eq!((e.id, e.state, e.action), (65536, 2, 6));
    let rec = event_record(&r, 5).unwrap();
    assert_eq!(rec.app, "monit");
    assert_eq!(rec.host, "localhost");
    assert_eq!(rec.severity, Some(6));
    assert_eq!(rec.message, "Monit 5.33.0 started");
    assert_eq!(rec.timestamp_ns, 1_795_537_824_953_835_000);
    assert!(rec.raw.starts_with(b"<event><collected_sec>"));
    assert!(rec.raw.ends_with(b"</event>"));
    let f = |k: &str| {
        rec.fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(f("state"), Some("changed"));
    assert_eq!(f("action"), Some("start"));
    assert_eq!(f("event"), Some("instance"));
    assert_eq!(f("service"), Some("Monit"));
}

#[test]
fn failed_program_event_is_an_error_and_status_metric_is_one() {
    let r = parse(&body("04-program-status-failed-event.http"), false).unwrap();
    let rec = event_record(&r, 0).unwrap();
    assert_eq!(rec.severity, Some(3));
    assert_eq!(rec.message, "status failed (1) -- flaky: run 3 failing");
    assert_eq!(rec.msgid, "status");
    assert!(rec.fields.contains(&("state".into(), "failed".into())));
    assert!(rec.fields.contains(&("action".into(), "alert".into())));
    assert!(rec.fields.contains(&("event_id".into(), "2097152".into())));
    assert!(rec.fields.contains(&("service".into(), "flaky".into())));
    let flaky = r.services.iter().find(|s| s.name == "flaky").unwrap();
    let prog = flaky.program.as_ref().unwrap();
    assert_eq!(prog.status, Some(1));
    assert_eq!(prog.output, "flaky: run 3 failing");
    let p = metrics(&r, 0);
    assert_eq!(value(&p, "monit.localhost.flaky.status"), 1.0);
    assert_eq!(value(&p, "monit.localhost.flaky.program.status"), 1.0);
    assert_eq!(
        value(&p, "monit.localhost.flaky.program.started"),
        1_795_537_834.0
    );
    assert_eq!(value(&p, "monit.localhost.localhost.status"), 0.0);
    let ts = p
        .iter()
        .find(|m| m.name == "monit.localhost.flaky.status")
        .unwrap()
        .timestamp;
    assert_eq!(ts, 1_795_537_834);
}

#[test]
fn succeeded_and_stopped_events_are_info() {
    for (name, msg) in [
        ("05-program-status-succeeded-event.http", "status succeeded"),
        ("08-monit-stopped-event.http", "Monit 5.33.0 stopped"),
    ] {
        let r = parse(&body(name), false).unwrap();
        let rec = event_record(&r, 0).unwrap();
        assert_eq!(rec.severity, Some(6), "{name}");
        assert!(rec.message.starts_with(msg), "{name}: {}", rec.message);
    }
}

#[test]
fn file_events_checksum_changed_and_size_failed() {
    let r = parse(&body("06-file-checksum-changed-event.http"), false).unwrap();
    let e = r.event.as_ref().unwrap();
    assert_eq!((e.id, e.state), (1, 2));
    assert_eq!(e.service, "watched");
    let r = parse(&body("07-file-size-failed-event.http"), false).unwrap();
    let e = r.event.as_ref().unwrap();
    assert_eq!((e.id, e.state), (16, 1));
    assert_eq!(event_record(&r, 0).unwrap().severity, Some(3));
    let w = r.services.iter().find(|s| s.name == "watched").unwrap();
    assert_eq!(w.checksum.as_ref().unwrap().kind, "MD5");
    assert!(w.size.is_some_and(|s| s > 100));
}

#[test]
fn periodic_status_system_and_process_fields_in_their_units() {
    let r = parse(&body("04-program-status-failed-event.http"), false).unwrap();
    let p = metrics(&r, 0);
    let v = |n: &str| value(&p, &format!("monit.localhost.{n}"));
    // system: load as sent, cpu in percent, memory kB → bytes
    approx(v("localhost.load.avg01"), 0.17);
    approx(v("localhost.load.avg15"), 0.25);
    approx(v("localhost.cpu.user"), 0.1);
    approx(v("localhost.cpu.system"), 0.3);
    approx(v("localhost.memory.percent"), 1.6);
    approx(v("localhost.memory.bytes"), 392_472.0 * 1024.0);
    approx(v("localhost.swap.bytes"), 0.0);
    approx(v("localhost.filedescriptors.allocated"), 517.0);
    // process
    approx(v("collector.memory.bytes"), 10_668.0 * 1024.0);
    approx(v("collector.cpu.percent"), 0.0);
    approx(v("collector.threads"), 2.0);
    approx(v("collector.children"), 0.0);
    approx(v("collector.uptime"), 15.0);
    approx(v("collector.filedescriptors.open"), 6.0);
    approx(v("collector.filedescriptors.limit_soft"), 20_000.0);
    approx(v("collector.io.read.bytes_generic_total"), 547_126.0);
    approx(v("collector.io.write.bytes"), 5725.0);
    approx(v("collector.io.write.operations_total"), 17.0);
    // file
    approx(v("watched.size_bytes"), 16.0);
    approx(v("watched.timestamps.modify"), 1_795_537_824.0);
}

#[test]
fn all_service_types_capture_covers_types_0_to_8() {
    let r = parse(&body("10-all-service-types-status.http"), false).unwrap();
    assert_eq!(r.server.localhostname, "gen.host");
    let kinds: Vec<ServiceType> = r.services.iter().map(|s| s.kind).collect();
    for k in 0..=8 {
        assert!(
            kinds.contains(&ServiceType::from_code(k)),
            "type {k} missing"
        );
    }
    let p = metrics(&r, 0);
    // the host name's dot becomes '_' in the path
    let v = |n: &str| value(&p, &format!("monit.gen_host.{n}"));
    // filesystem: block usage MB → bytes, inodes as counts
    approx(v("rootfs.space.percent"), 7.5);
    approx(v("rootfs.space.used_bytes"), 19_235.8 * 1_048_576.0);
    approx(v("rootfs.space.total_bytes"), 258_019.6 * 1_048_576.0);
    approx(v("rootfs.inodes.percent"), 2.6);
    approx(v("rootfs.inodes.used"), 433_614.0);
    approx(v("rootfs.inodes.total"), 16_777_216.0);
    approx(v("rootfs.servicetime.write_ms"), 31.096);
    approx(v("rootfs.io.write.bytes_total"), 23_301_275_648.0);
    // directory and fifo timestamps
    approx(v("tmpdir.timestamps.change"), 1_795_553_578.0);
    approx(v("pipe.timestamps.access"), 1_795_553_545.0);
    // host: response times seconds → ms
    approx(v("lo.icmp.Ping.response_ms"), 0.044);
    approx(v("lo.port.127_0_0_1_47391.response_ms"), 0.234);
    // net: link state, per-second rate and totals; speed -1 (unknown) is left out
    approx(v("loop.link.state"), 1.0);
    approx(v("loop.link.download.bytes"), 8226.0);
    approx(v("loop.link.upload.packets_total"), 2_456_414.0);
    assert!(!p.iter().any(|m| m.name.ends_with("link.speed_bps")));
    // program, process, file
    approx(v("okprog.program.status"), 0.0);
    approx(v("sshd.memory.bytes"), 7844.0 * 1024.0);
    approx(v("sshd.children"), 1.0);
    approx(v("mrc.size_bytes"), 801.0);
    let mrc = r.services.iter().find(|s| s.name == "mrc").unwrap();
    assert_eq!(
        mrc.checksum.as_ref().unwrap().value,
        "e05946d305beecac1ef5892d393cd58c"
    );
    assert_eq!(mrc.mode.as_deref(), Some("600"));
    let fs = r.services.iter().find(|s| s.name == "rootfs").unwrap();
    assert_eq!(
        fs.filesystem.as_ref().unwrap().fstype.as_deref(),
        Some("ext4")
    );
    // every name is a clean graphite path
    for m in &p {
        assert!(m.name.starts_with("monit.gen_host."), "{}", m.name);
        assert!(
            m.name.split('.').all(|n| !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')),
            "{}",
            m.name
        );
    }
}

#[test]
fn status_page_layout_is_read_too() {
    // Monit's own /_status?format=xml: id in <server>, type as attribute, name as child
    let doc = r#"<?xml version="1.0" encoding="ISO-8859-1"?><monit><server><id>abc</id><incarnation>7</incarnation><version>5.33.0</version><poll>2</poll><localhostname>h</localhostname></server><service type="5"><name>h</name><status>0</status><monitor>1</monitor><system><load><avg01>1.5</avg01></load></system></service></monit>"#;
    let r = parse_document(doc).unwrap();
    assert_eq!(r.id, "abc");
    assert_eq!(r.incarnation, 7);
    assert_eq!(r.services[0].name, "h");
    assert_eq!(r.services[0].system.as_ref().unwrap().load1, Some(1.5));
}

#[test]
fn sanitize_keeps_path_nodes_clean() {
    assert_eq!(sanitize("web-01.example.com"), "web-01_example_com");
    assert_eq!(sanitize("my service"), "my_service");
    assert_eq!(sanitize("a/b:c"), "abc");
    assert_eq!(sanitize("ü"), "_");
    assert_eq!(sanitize(""), "_");
}

#[test]
fn latin1_body_and_gzip_body() {
    let doc = "<monit id=\"x\" incarnation=\"1\" version=\"5\"><server><localhostname>h\u{e9}</localhostname></server><services><service name=\"caf\u{e9}\"><type>7</type></service></services></monit>";
    let latin1: Vec<u8> = doc.chars().map(|c| c as u8).collect();
    let r = parse(&latin1, false).unwrap();
    assert_eq!(r.server.localhostname, "h\u{e9}");
    let r = parse(doc.as_bytes(), false).unwrap();
    assert_eq!(r.services[0].name, "caf\u{e9}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body("03-periodic-status.http")).unwrap();
    let r = parse(&gz.finish().unwrap(), true).unwrap();
    assert_eq!(r.services.len(), 4);
    assert!(matches!(
        parse(b"not gzip", true),
        Err(MonitXmlError::Gzip(_))
    ));
}

#[test]
fn entities_predefined_and_char_refs_resolve() {
    let doc = "<monit id=\"a&amp;b\" incarnation=\"1\" version=\"5\"><server><localhostname>x&lt;&#65;&#x42;</localhostname></server></monit>";
    let r = parse_document(doc).unwrap();
    assert_eq!(r.id, "a&b");
    assert_eq!(r.server.localhostname, "x<AB");
}

fn hostile(doc: &[u8]) -> MonitXmlError {
    parse(doc, false).expect_err("hostile input must be refused")
}

#[test]
fn deep_nesting_is_refused() {
    let mut d = String::from("<monit id=\"a\">");
    for _ in 0..10_000 {
        d.push_str("<x>");
    }
    assert_eq!(hostile(d.as_bytes()), MonitXmlError::TooDeep);
    let ok_depth = "<a>".repeat(MAX_DEPTH - 1);
    assert!(!matches!(
        hostile(ok_depth.as_bytes()),
        MonitXmlError::TooDeep
    ));
}

#[test]
fn huge_text_node_is_refused() {
    let mut d = b"<monit id=\"a\"><server><localhostname>".to_vec();
    d.extend(std::iter::repeat_n(b'A', 3 << 20));
    d.extend(b"</localhostname></server></monit>");
    assert_eq!(hostile(&d), MonitXmlError::TextTooLong);
    // 10 MB is over the body limit before any parsing
    let big = vec![b'A'; 10 << 20];
    assert_eq!(hostile(&big), MonitXmlError::TooLarge);
}

#[test]
fn billion_laughs_and_unknown_entities_are_refused() {
    let lol = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><monit id="a">&lol2;</monit>"#;
    assert_eq!(hostile(lol.as_bytes()), MonitXmlError::Doctype);
    let ext = "<monit id=\"a\"><server><localhostname>&xxe;</localhostname></server></monit>";
    assert_eq!(hostile(ext.as_bytes()), MonitXmlError::Entity("xxe".into()));
    let attr = "<monit id=\"&lol;\"></monit>";
    assert!(matches!(
        hostile(attr.as_bytes()),
        MonitXmlError::Malformed { .. }
    ));
}

#[test]
fn truncated_not_xml_and_wrong_documents_are_refused() {
    let full = body("03-periodic-status.http");
    for cut in [10, full.len() / 2, full.len() - 1] {
        let e = hostile(&full[..cut]);
        assert!(
            matches!(
                e,
                MonitXmlError::Truncated(_) | MonitXmlError::Malformed { .. }
            ),
            "cut {cut}: {e}"
        );
    }
    assert!(matches!(
        hostile(b"hello world"),
        MonitXmlError::Malformed { .. } | MonitXmlError::Empty
    ));
    assert_eq!(hostile(b""), MonitXmlError::Empty);
    assert_eq!(
        hostile(b"<html></html>"),
        MonitXmlError::NotMonit("html".into())
    );
    assert_eq!(
        hostile(b"<monit></monit>"),
        MonitXmlError::Missing("monit id")
    );
    let bad_num = "<monit id=\"a\" incarnation=\"1\"><server><localhostname>h</localhostname><poll>five</poll></server></monit>";
    assert!(matches!(
        hostile(bad_num.as_bytes()),
        MonitXmlError::BadNumber { .. }
    ));
    assert!(matches!(
        hostile(b"<monit id=\"a\"></monit><monit/>"),
        MonitXmlError::Malformed { .. }
    ));
}

#[test]
fn gzip_bomb_is_refused() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..(MAX_BODY >> 20) + 4 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 64 << 10);
    assert_eq!(parse(&bomb, true).unwrap_err(), MonitXmlError::TooLarge);
}

#[test]
fn inventory_keys_by_id_and_marks_silent_hosts_stale_once() {
    let inv = Inventory::new();
    let r = parse(&body("04-program-status-failed-event.http"), false).unwrap();
    let t0 = 1_000_000_000_000_000_000i64;
    assert!(inv.update(&r, t0).is_none());
    // a second Monit with the same hostname but another id is another host
    let mut other = r.clone();
    other.id = "other".into();
    inv.update(&other, t0);
    let hosts = inv.list();
    assert_eq!(hosts.len(), 2);
    let h = hosts
        .iter()
        .find(|h| h.id == "3d6cdc8555bbfebf9942d087935b7486")
        .unwrap();
    assert_eq!(h.hostname, "localhost");
    assert_eq!(h.monit_version, "5.33.0");
    assert_eq!(h.poll, Some(5));
    assert_eq!(h.uptime, Some(15));
    assert_eq!(h.platform.memory_bytes, Some(24_684_084 * 1024));
    let flaky = h.services.iter().find(|s| s.name == "flaky").unwrap();
    assert!(flaky.failing);
    assert_eq!(flaky.kind, "program");
    // poll 5 s: stale after more than 15 s of silence, reported once
    assert!(inv.sweep(t0 + 15_000_000_000).is_empty());
    inv.update(&other, t0 + 16_000_000_000);
    let recs = inv.sweep(t0 + 16_000_000_000);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].app, "monit");
    assert_eq!(recs[0].severity, Some(4));
    assert!(recs[0].message.contains("stale"), "{}", recs[0].message);
    assert!(inv.sweep(t0 + 30_000_000_000).is_empty());
    assert!(inv.list().iter().any(|h| h.stale));
    // a report brings it back, with a record
    let back = inv.update(&r, t0 + 40_000_000_000).unwrap();
    assert!(back.message.contains("again"));
    assert!(!inv.list().iter().find(|h| h.id == r.id).unwrap().stale);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), gzip in any::<bool>()) {
        let _ = parse(&bytes, gzip);
    }

    #[test]
    fn mutated_captures_never_panic(
        which in 0usize..ALL.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..16),
        cut in any::<usize>(),
    ) {
        let mut b = body(ALL[which]);
        for (at, byte) in edits {
            let i = at % b.len();
            b[i] = byte;
        }
        let keep = cut % (b.len() + 1);
        b.truncate(keep.max(b.len() / 2));
        if let Ok(r) = parse(&b, false) {
            let _ = metrics(&r, 0);
            let _ = event_record(&r, 0);
        }
    }
}
