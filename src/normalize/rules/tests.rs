//! The shipped rules against their own cases, against LogHub's labelled OpenSSH and Apache
//! samples, and against arbitrary input.

use std::path::Path;

use proptest::prelude::*;

use super::*;

fn shipped() -> RuleSet {
    let (set, errors) = load(None);
    assert!(errors.is_empty(), "shipped rules have errors: {errors:#?}");
    set
}

#[test]
fn shipped_files_match_the_parsers_directory() {
    // the embedded copies are include_str! of parsers/, so this only checks nothing is missing
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("parsers");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".toml") && n != LIBRARY_FILE)
        .collect();
    on_disk.sort();
    let mut shipped: Vec<String> = SHIPPED.iter().map(|(n, _)| n.to_string()).collect();
    shipped.sort();
    assert_eq!(on_disk, shipped, "add new parsers/ files to SHIPPED");
}

#[test]
fn every_shipped_test_case_passes() {
    let set = shipped();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (file, text) in SHIPPED {
        let parsed: format::RuleFile = toml::from_str(text).unwrap();
        assert!(
            parsed.test.len() >= 3,
            "{file}: needs at least 3 test cases"
        );
        cases += parsed.test.len();
        failures.extend(run_file_tests(file, text, &set));
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What each `<*>` of a LogHub OpenSSH template holds: `u` user, `i` client address (IP, or
/// host name where sshd logs rhost), `p` client port, `-` something else.
const OPENSSH_ROLES: &[(&str, &str)] = &[
    ("Accepted password for <*> from <*> port <*> ssh2", "uip"),
    ("Connection closed by <*> [preauth]", "i"),
    ("Did not receive identification string from <*>", "i"),
    ("error: Received disconnect from <*>: <*>: ", "i-"),
    (
        "Failed none for invalid user <*> from <*> port <*> ssh2",
        "uip",
    ),
    ("Failed password for <*> from <*> port <*> ssh2", "uip"),
    (
        "Failed password for invalid user <*> from <*> port <*> ssh2",
        "uip",
    ),
    ("input_userauth_request: invalid user <*> [preauth]", "u"),
    ("Invalid user <*> from <*>", "ui"),
    (
        "message repeated <*> times: [ Failed password for root from <*> port <*>]",
        "-ip",
    ),
    ("PAM <*> more authentication failure", "---i"),
    (
        "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*> user=<*>",
        "--iu",
    ),
    (
        "pam_unix(sshd:auth): authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=<*>",
        "--i",
    ),
    ("pam_unix(sshd:session): session closed for user <*>", "u"),
    (
        "pam_unix(sshd:session): session opened for user <*> by (uid=<*>)",
        "u-",
    ),
    ("Received disconnect from <*>: <*>: ", "i-"),
    ("reverse mapping checking getaddrinfo for <*> [<*>]", "-i"),
];

/// The template's `<*>` values in `content`: the template becomes a lazy regex.
fn template_values(template: &str, content: &str) -> Option<Vec<String>> {
    let re = template
        .split("<*>")
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join("(.*?)");
    let re = regex::Regex::new(&format!("^{re}$")).ok()?;
    let caps = re.captures(content)?;
    Some(
        caps.iter()
            .skip(1)
            .map(|m| m.map_or(String::new(), |m| m.as_str().trim().to_string()))
            .collect(),
    )
}

#[test]
fn openssh_loghub_accuracy() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("ingest-tests/data/loghub");
    let log = std::fs::read_to_string(base.join("OpenSSH_2k.log")).unwrap();
    let csv = std::fs::read_to_string(base.join("OpenSSH_2k.log_structured.csv")).unwrap();
    let set = shipped();
    let (mut total, mut good) = (0usize, 0usize);
    let mut bad = Vec::new();
    let mut matched_any = 0;
    for (line, row) in log.lines().zip(csv.lines().skip(1)) {
        let cols = crate::testutil::csv_fields(row);
        let (content, template) = (&cols[6], &cols[8]);
        let rec = crate::ingest::syslog::parse(&crate::model::RawMessage {
            received_ns: 0,
            peer: None,
            transport: crate::model::Transport::Udp,
            bytes: line.as_bytes().to_vec(),
            truncated: false,
        });
        assert_eq!(rec.message.trim(), content.trim());
        let mut fields = Vec::new();
        if set.apply(&rec.app, &rec.message, &mut fields).is_some() {
            matched_any += 1;
        }
        let Some((_, roles)) = OPENSSH_ROLES
            .iter()
            .find(|(prefix, _)| template.starts_with(prefix))
        else {
            continue;
        };
        let values = template_values(template, content).unwrap();
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        total += 1;
        let mut ok = true;
        for (role, value) in roles.chars().zip(&values) {
            let field = match role {
                'u' => "user",
                'i' if value.parse::<std::net::IpAddr>().is_ok() => "client_ip",
                'i' => "client_host",
                'p' => "client_port",
                _ => continue,
            };
            // LogHub's E14 template ends `port <*>]`, so its port value is `42393 ssh2`
            let value = if role == 'p' {
                value.split(' ').next().unwrap_or_default()
            } else {
                value.as_str()
            };
            if get(field) != Some(value) {
                ok = false;
            }
        }
        if ok {
            good += 1;
        } else if bad.len() < 20 {
            bad.push(format!("{content} → {fields:?}"));
        }
    }
    let pct = good as f64 * 100.0 / total as f64;
    println!(
        "OpenSSH_2k: {good}/{total} lines with user/ip/port variables extracted ({pct:.2}%); \
         {matched_any}/2000 lines matched by some rule"
    );
    assert!(total > 1500, "only {total} lines had variables");
    assert!(pct >= 99.0, "{pct:.2}% < 99%:\n{}", bad.join("\n"));
}

#[test]
fn apache_error_log_has_level_and_message() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ingest-tests/data/loghub/Apache_2k.log");
    let log = std::fs::read_to_string(path).unwrap();
    let set = shipped();
    let mut failed = Vec::new();
    let mut n = 0;
    for line in log.lines() {
        n += 1;
        let mut fields = Vec::new();
        set.apply("apache", line, &mut fields);
        let has = |k: &str| fields.iter().any(|(f, v)| f == k && !v.is_empty());
        if !(has("level") && has("message")) {
            failed.push(line.to_string());
        }
    }
    assert_eq!(n, 2000);
    assert!(
        failed.is_empty(),
        "{} lines without level+message, e.g. {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
}

/// LogHub's Linux_2k (RHEL 4): every old-style `x(pam_unix)` and ftpd line matches a rule.
#[test]
fn linux_loghub_pam_and_ftpd_lines_match() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ingest-tests/data/loghub/Linux_2k.log");
    let log = std::fs::read_to_string(path).unwrap();
    let set = shipped();
    let (mut n, mut missed) = (0, Vec::new());
    for line in log.lines() {
        let rec = crate::ingest::syslog::parse(&crate::model::RawMessage {
            received_ns: 0,
            peer: None,
            transport: crate::model::Transport::Udp,
            bytes: line.as_bytes().to_vec(),
            truncated: false,
        });
        if !(rec.app.ends_with("(pam_unix)") || rec.app == "ftpd") {
            continue;
        }
        n += 1;
        if set.apply(&rec.app, &rec.message, &mut Vec::new()).is_none() {
            missed.push(format!("{}: {}", rec.app, rec.message));
        }
    }
    assert!(
        n > 1700,
        "only {n} pam_unix/ftpd lines: is the app parsed as expected?"
    );
    assert!(
        missed.is_empty(),
        "{} of {n} missed:\n{}",
        missed.len(),
        missed[..missed.len().min(10)].join("\n")
    );
}

fn shipped_apps() -> Vec<String> {
    let mut apps = Vec::new();
    for (_, text) in SHIPPED {
        let parsed: format::RuleFile = toml::from_str(text).unwrap();
        for r in parsed.rule {
            for a in &r.get_ref().apps {
                apps.push(a.trim_end_matches('*').to_string());
            }
        }
    }
    apps.sort();
    apps.dedup();
    apps
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// No message makes any shipped rule panic, and a match only adds well-formed fields.
    #[test]
    fn never_panics(idx in 0usize..1000, msg in ".{0,200}", tail in "[ -~]{0,80}") {
        thread_local! {
            static SET: (RuleSet, Vec<String>) = (shipped(), shipped_apps());
        }
        SET.with(|(set, apps)| {
            let app = &apps[idx % apps.len()];
            for m in [msg.as_str(), tail.as_str(), &format!("Failed password for {msg} from 1.2.3.4 port 22 ssh2")] {
                let mut fields = Vec::new();
                if set.apply(app, m, &mut fields).is_some() {
                    prop_assert!(fields.iter().all(|(k, _)| !k.is_empty()));
                }
            }
            Ok(())
        })?;
    }
}
