//! Issue 3: lines from programs with shipped rules get typed fields, searchable by name.

use std::time::Duration;

use crate::harness::Server;

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn issue3_sshd_and_ufw_lines_get_fields_searchable_by_name() {
    let s = Server::start("");
    s.send_tcp(
        b"<38>Dec 10 06:55:46 web1 sshd[24200]: Failed password for invalid user admin from 203.0.113.9 port 2222 ssh2\n\
          <4>Dec 10 06:55:47 web1 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:00:00:01 SRC=198.51.100.4 DST=10.0.0.5 LEN=40 TOS=0x00 PREC=0x00 TTL=244 ID=1 PROTO=TCP SPT=45678 DPT=3306 WINDOW=1024 RES=0x00 SYN URGP=0\n\
          <38>Dec 10 06:55:48 web1 sshd[24201]: a line no rule knows\n",
    );
    assert_eq!(
        s.wait_total("app:sshd OR app:kernel", 3, WAIT),
        3,
        "log: {}",
        s.log()
    );

    let r = s.search("user:admin AND client_port:2222", "");
    assert_eq!(r["total"], 1, "{r}");
    let hit = &r["hits"][0];
    assert_eq!(hit["fields"]["client_ip"], "203.0.113.9", "{hit}");
    assert_eq!(hit["fields"]["event"], "auth_failure", "{hit}");
    // the rule's severity override (the frame said info)
    assert_eq!(hit["severity"], "warning", "{hit}");

    let r = s.search("dst_port:3306 AND proto:TCP", "");
    assert_eq!(r["total"], 1, "{r}");
    assert_eq!(r["hits"][0]["fields"]["src_ip"], "198.51.100.4");

    // an unmatched line keeps its message and gets no fields
    let r = s.search("rule", "");
    assert_eq!(r["total"], 1, "{r}");
    assert_eq!(r["hits"][0]["message"], "a line no rule knows");
    assert!(
        r["hits"][0]["fields"]
            .as_object()
            .is_none_or(|o| o.is_empty()),
        "{r}"
    );
}

/// A rule dropped into the parsers directory takes effect on SIGHUP; a broken rule file is
/// reported with file, line and reason while the server starts with every other rule; the
/// stats endpoint counts hits per rule and misses per app.
#[test]
fn issue3_sighup_reloads_rules_and_bad_files_are_reported_not_fatal() {
    let rules = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        rules.path().join("broken.toml"),
        "[[rule]]\nname = \"x\"\napps = [\"a\"]\npatterns = [\"%{nosuchtype:f}\"]\n",
    )
    .expect("write");
    let s = Server::start(&format!(
        "[logs]\nparsers_dir = {:?}\n",
        rules.path().display().to_string()
    ));
    let log = s.log();
    assert!(
        log.contains("broken.toml:4"),
        "bad rule not reported with its line: {log}"
    );

    s.send_tcp(b"<13>Nov 24 16:00:00 h1 billing[7]: invoice 42 paid by carol\n");
    assert_eq!(s.wait_total("invoice", 1, WAIT), 1);
    assert_eq!(
        s.search("invoice", "")["hits"][0]["fields"],
        serde_json::json!({})
    );

    std::fs::write(
        rules.path().join("billing.toml"),
        r#"[[rule]]
name = "billing_paid"
apps = ["billing"]
patterns = ["invoice %{int:invoice} paid by %{word:user}"]
fields = { event = "invoice_paid" }

[[test]]
app = "billing"
message = "invoice 1 paid by bob"
expect = { invoice = "1", user = "bob", event = "invoice_paid" }
"#,
    )
    .expect("write");
    s.signal("HUP");
    // the reload is asynchronous: resend until the new rule applies
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        s.send_tcp(b"<13>Nov 24 16:00:01 h1 billing[7]: invoice 43 paid by dave\n");
        std::thread::sleep(Duration::from_millis(300));
        if s.search("user:dave AND invoice:>=43", "limit=0")["total"].as_u64() > Some(0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reload did not apply: {}",
            s.log()
        );
    }
    let (status, body) = s.get("/api/parsers/stats");
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let billing = stats["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["rule"] == "billing_paid")
        .unwrap_or_else(|| panic!("{stats}"));
    assert!(billing["hits"].as_u64() >= Some(1), "{stats}");
}

#[test]
fn issue3_parse_cli_shows_the_matching_rule_and_fields() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["parse", "--app", "sshd"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn telltale parse");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"Accepted publickey for deploy from 192.0.2.7 port 50522 ssh2\nsomething else entirely\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains("rule=sshd.toml:"), "{stdout}");
    assert!(lines[0].contains("user=deploy"), "{stdout}");
    assert!(lines[0].contains("client_ip=192.0.2.7"), "{stdout}");
    assert!(lines[1].contains("no rule matched"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 2 lines matched"));
}
