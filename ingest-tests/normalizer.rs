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
