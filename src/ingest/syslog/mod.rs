//! Syslog: TCP framing, RFC 3164 and RFC 5424 parsing.
