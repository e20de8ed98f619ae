//! `[mqtt]` and `[http]`: the optional outputs for fleets and monitoring. Each is
//! off unless its table is present.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::de as leaf;
use super::raw::Table;
use super::reference::Resolver;
use super::secret::Secret;
use super::{source, ConfigError};

/// The default `[http] listen` address.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9464";

/// This machine's host name as used in MQTT defaults (`gethostname(2)`, which works
/// under the unit's /proc restrictions; else `/etc/hostname`, else `localhost`), with
/// characters that are not `[A-Za-z0-9_.-]` replaced by `-`, so it is safe in topics
/// and client ids.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates what fits.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let from_call = ok
        .then(|| {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).trim().to_string()
        })
        .filter(|s| !s.is_empty());
    let raw = from_call
        .or_else(|| {
            let s = std::fs::read_to_string("/etc/hostname").ok()?;
            let s = s.trim().to_string();
            (!s.is_empty()).then_some(s)
        })
        .unwrap_or_else(|| "localhost".to_string());
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `mqtt://` (plain TCP) or `mqtts://` (TLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttScheme {
    /// Plain TCP, default port 1883.
    Mqtt,
    /// TLS, default port 8883.
    Mqtts,
}

/// `[mqtt]`: publish messages to an MQTT broker. `Debug` hides the password.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RawMqtt")]
pub struct MqttConfig {
    /// The `url` as written (`mqtt://host[:port]` or `mqtts://host[:port]`).
    pub url: String,
    /// Plain or TLS.
    pub scheme: MqttScheme,
    /// Broker host name or address (IPv6 without brackets).
    pub host: String,
    /// Broker port (default 1883, or 8883 for `mqtts://`).
    pub port: u16,
    /// MQTT client id (default `actiond-<hostname>`).
    pub client_id: String,
    /// Topic prefix without a trailing `/` (default `actiond/<hostname>`).
    pub topic_prefix: String,
    /// QoS of every publish, 0..=2 (default 1).
    pub qos: u8,
    /// User name (optional), its `${…}` references resolved.
    pub username: Option<String>,
    /// The `username` as written, when it held `${…}` references (what may be printed).
    pub username_reference: Option<String>,
    /// Password: from `password`, or read at start from `password_file` (one line).
    pub password: Option<MqttPassword>,
    /// CA certificates (PEM) that sign the broker's certificate; default: the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM) for TLS client authentication.
    pub cert_file: Option<PathBuf>,
    /// Private key (PEM) of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// MQTT keep-alive in seconds, 5..=3600 (default 30).
    pub keep_alive_s: u64,
    /// Messages held while the broker is unreachable before the oldest are dropped (default 1000).
    pub queue: usize,
    /// Publish Home Assistant MQTT discovery configs (default false).
    pub discovery: bool,
    /// Topic prefix of Home Assistant discovery (default `homeassistant`).
    pub discovery_prefix: String,
    /// Seconds between `<prefix>/stats` messages; 0 = none (default 60).
    pub stats_interval_s: u64,
    /// Obey `<prefix>/<stream>/enabled/set` commands (default false: anyone who may publish
    /// to the broker could stop cameras).
    pub commands: bool,
}

/// Where the MQTT password comes from. `Debug` hides an inline password.
#[derive(Debug, Clone, PartialEq)]
pub enum MqttPassword {
    /// Written in the config.
    Inline(Secret),
    /// A file read when the daemon starts (e.g. a systemd credential).
    File(PathBuf),
}

impl MqttPassword {
    /// The password itself (the file's first line for [`MqttPassword::File`]).
    pub fn read(&self) -> std::io::Result<String> {
        match self {
            MqttPassword::Inline(s) => Ok(s.expose().to_string()),
            MqttPassword::File(p) => {
                let text = std::fs::read_to_string(p)?;
                Ok(text.lines().next().unwrap_or("").to_string())
            }
        }
    }
}

impl MqttConfig {
    /// The defaults for this host: `mqtt://127.0.0.1:1883`, client id `actiond-<host>`,
    /// topic prefix `actiond/<host>`, QoS 1.
    pub fn with_defaults() -> Self {
        RawMqtt::default().into()
    }

    /// True for `mqtts://`.
    pub fn tls(&self) -> bool {
        self.scheme == MqttScheme::Mqtts
    }
}

/// The `[mqtt]` table as written: `password` and `password_file` are two keys
/// for one field of [`MqttConfig`], and `url` gives three.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawMqtt {
    #[serde(deserialize_with = "broker_url")]
    url: BrokerUrl,
    #[serde(deserialize_with = "client_id")]
    client_id: String,
    #[serde(deserialize_with = "topic_prefix")]
    topic_prefix: String,
    #[serde(deserialize_with = "leaf::int::<_, u8, 0, 2>")]
    qos: u8,
    #[serde(deserialize_with = "leaf::some_non_empty")]
    username: Option<String>,
    #[serde(deserialize_with = "password")]
    password: Option<Secret>,
    #[serde(deserialize_with = "leaf::some_path")]
    password_file: Option<PathBuf>,
    #[serde(deserialize_with = "leaf::some_path")]
    ca_file: Option<PathBuf>,
    #[serde(deserialize_with = "leaf::some_path")]
    cert_file: Option<PathBuf>,
    #[serde(deserialize_with = "leaf::some_path")]
    key_file: Option<PathBuf>,
    #[serde(deserialize_with = "leaf::int::<_, u64, 5, 3600>")]
    keep_alive_s: u64,
    #[serde(deserialize_with = "leaf::int::<_, usize, 1, 1_000_000>")]
    queue: usize,
    #[serde(deserialize_with = "leaf::bool")]
    discovery: bool,
    #[serde(deserialize_with = "topic_prefix")]
    discovery_prefix: String,
    #[serde(deserialize_with = "leaf::int::<_, u64, 0, 86_400>")]
    stats_interval_s: u64,
    #[serde(deserialize_with = "leaf::bool")]
    commands: bool,
}

impl Default for RawMqtt {
    fn default() -> Self {
        let host = hostname();
        RawMqtt {
            url: BrokerUrl {
                url: "mqtt://127.0.0.1:1883".into(),
                scheme: MqttScheme::Mqtt,
                host: "127.0.0.1".into(),
                port: 1883,
            },
            client_id: format!("actiond-{host}"),
            topic_prefix: format!("actiond/{host}"),
            qos: 1,
            username: None,
            password: None,
            password_file: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
            keep_alive_s: 30,
            queue: 1000,
            discovery: false,
            discovery_prefix: "homeassistant".into(),
            stats_interval_s: 60,
            commands: false,
        }
    }
}

impl From<RawMqtt> for MqttConfig {
    fn from(raw: RawMqtt) -> Self {
        let password = match (raw.password, raw.password_file) {
            (Some(p), _) => Some(MqttPassword::Inline(p)),
            (None, f) => f.map(MqttPassword::File),
        };
        MqttConfig {
            url: raw.url.url,
            scheme: raw.url.scheme,
            host: raw.url.host,
            port: raw.url.port,
            client_id: raw.client_id,
            topic_prefix: raw.topic_prefix,
            qos: raw.qos,
            username: raw.username,
            username_reference: None,
            password,
            ca_file: raw.ca_file,
            cert_file: raw.cert_file,
            key_file: raw.key_file,
            keep_alive_s: raw.keep_alive_s,
            queue: raw.queue,
            discovery: raw.discovery,
            discovery_prefix: raw.discovery_prefix,
            stats_interval_s: raw.stats_interval_s,
            commands: raw.commands,
        }
    }
}

/// `[http]`: metrics, health and status over HTTP.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address to listen on (default `127.0.0.1:9464`, loopback only).
    #[serde(deserialize_with = "listen")]
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: DEFAULT_HTTP_LISTEN.parse().expect("a valid address"),
        }
    }
}

/// `http.listen`: an address with a port.
fn listen<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let s = leaf::non_empty(d)?;
    s.parse().map_err(|_| {
        de::Error::custom(format!(
            "`{s}` is not an address with a port, like \"127.0.0.1:9464\" or \"[::1]:9464\""
        ))
    })
}

/// A broker URL split into its parts.
struct BrokerUrl {
    /// As written.
    url: String,
    /// Plain or TLS.
    scheme: MqttScheme,
    /// Host name or address (IPv6 without brackets).
    host: String,
    /// The port, or the scheme's default.
    port: u16,
}

/// `mqtt.url`.
fn broker_url<'de, D: Deserializer<'de>>(d: D) -> Result<BrokerUrl, D::Error> {
    parse_mqtt_url(&leaf::non_empty(d)?).map_err(de::Error::custom)
}

/// `mqtt.client_id`: 1 to 256 characters, no spaces or control characters.
fn client_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = leaf::non_empty(d)?;
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) || s.len() > 256 {
        return Err(de::Error::custom(
            "must be 1 to 256 characters without spaces or control characters",
        ));
    }
    Ok(s)
}

/// `mqtt.topic_prefix`.
fn topic_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = leaf::string(d)?;
    match topic_prefix_problem(&s) {
        Some(problem) => Err(de::Error::custom(format!("topic prefix `{s}` {problem}"))),
        None => Ok(s),
    }
}

/// `mqtt.password`: any string, never echoed.
fn password<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    leaf::scalar(d, |v| v.into_str("a string").map(|s| Some(Secret::new(s))))
}

/// Splits an `mqtt://` or `mqtts://` URL into scheme, host and port.
fn parse_mqtt_url(url: &str) -> Result<BrokerUrl, String> {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("mqtt://") {
        (MqttScheme::Mqtt, r)
    } else if let Some(r) = url.strip_prefix("mqtts://") {
        (MqttScheme::Mqtts, r)
    } else {
        // Only what stands before the first `:` (a scheme has none), and nothing
        // if there is an `@`: with the `://` mistyped, `user:password@host` may
        // be anywhere in it.
        let shown = match url.split(':').next() {
            Some(s) if !url.contains('@') => format!(" `{s}…`"),
            _ => String::new(),
        };
        return Err(format!(
            "unsupported broker URL{shown}; use mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS)"
        ));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('@') {
        return Err(
            "credentials in the URL are not supported; use the `username` and `password` (or `password_file`) keys"
                .into(),
        );
    }
    if rest.contains(['/', '?', '#']) {
        return Err(format!(
            "`{url}` has a path or query; write only mqtt://HOST[:PORT]"
        ));
    }
    let default_port = match scheme {
        MqttScheme::Mqtt => 1883,
        MqttScheme::Mqtts => 8883,
    };
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{url}`: unclosed `[` in an IPv6 address"))?;
        match after {
            "" => (h, None),
            p if p.starts_with(':') => (h, Some(&p[1..])),
            _ => return Err(format!("`{url}`: unexpected text after `]`")),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("`{url}`: port must be 1 to 65535, got `{p}`")),
        },
    };
    Ok(BrokerUrl {
        url: url.to_string(),
        scheme,
        host: host.to_string(),
        port,
    })
}

/// Why `prefix` cannot be an MQTT topic prefix, if it cannot.
fn topic_prefix_problem(prefix: &str) -> Option<&'static str> {
    if prefix.is_empty() {
        Some("must not be empty")
    } else if prefix.contains(['+', '#']) {
        Some("must not contain the wildcards `+` or `#`")
    } else if prefix.starts_with('$') {
        Some("must not start with `$` (reserved for the broker)")
    } else if prefix.starts_with('/') || prefix.ends_with('/') {
        Some("must not start or end with `/`")
    } else if prefix.contains("//") {
        Some("must not contain empty levels (`//`)")
    } else if prefix.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else if prefix.len() > 1024 {
        Some("is longer than 1024 bytes")
    } else {
        None
    }
}

/// After deserializing `[mqtt]` (table `t`): resolves its files against `base`
/// and the `${…}` references of its credentials with `refs`, and checks the
/// rules between keys, each error at the key to change.
pub(super) fn finish_mqtt(
    m: &mut MqttConfig,
    t: &Table<'_>,
    base: &Path,
    refs: &Resolver<'_>,
) -> Result<(), ConfigError> {
    let (inline, file) = (t.get("password"), t.get("password_file"));
    if let (Some(p), Some(f)) = (&inline, &file) {
        let later = if f.span.start > p.span.start { f } else { p };
        return Err(later.error("set either `password` or `password_file`, not both"));
    }
    if let Some(v) = inline.or(file).filter(|_| m.username.is_none()) {
        return Err(v.error("a password needs a `username` too"));
    }
    for key in ["ca_file", "cert_file", "key_file"] {
        match t.get(key) {
            Some(v) if !m.tls() => {
                return Err(v.error(format!(
                    "`{key}` is for TLS; the broker URL must start with mqtts://"
                )))
            }
            _ => {}
        }
    }
    match (t.get("cert_file"), t.get("key_file")) {
        (Some(c), None) => return Err(c.error("`cert_file` needs `key_file` too")),
        (None, Some(k)) => return Err(k.error("`key_file` needs `cert_file` too")),
        _ => {}
    }
    resolve_credentials(m, t, refs)?;
    if let Some(MqttPassword::File(p)) = &mut m.password {
        *p = source::resolve(base, p);
    }
    for p in [&mut m.ca_file, &mut m.cert_file, &mut m.key_file]
        .into_iter()
        .flatten()
    {
        *p = source::resolve(base, p);
    }
    Ok(())
}

/// Resolves the `${…}` references in `username` and an inline `password`.
fn resolve_credentials(
    m: &mut MqttConfig,
    t: &Table<'_>,
    refs: &Resolver<'_>,
) -> Result<(), ConfigError> {
    if let (Some(user), Some(v)) = (m.username.as_mut(), t.get("username")) {
        let r = refs.resolve(user).map_err(|e| v.error(e))?;
        if r.referenced {
            m.username_reference = Some(std::mem::replace(user, r.value));
        }
    }
    if let (Some(MqttPassword::Inline(pw)), Some(v)) = (m.password.as_mut(), t.get("password")) {
        let r = refs.resolve(pw.expose()).map_err(|e| v.error(e))?;
        *pw = match r.referenced {
            true => Secret::referenced(r.value, pw.expose()),
            false => Secret::new(r.value),
        };
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::de::keys;
    use super::super::tests::{assert_invalid as invalid, in_section as with, parse, MINIMAL};
    use super::*;

    #[test]
    fn both_are_off_unless_present() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.mqtt, None);
        assert_eq!(c.http, None);
    }

    #[test]
    fn empty_tables_get_every_default() {
        let c = parse(&with("mqtt", "")).unwrap();
        let m = c.mqtt.expect("[mqtt] present");
        let host = hostname();
        assert!(!host.is_empty());
        assert_eq!(m.url, "mqtt://127.0.0.1:1883");
        assert_eq!(
            (m.scheme, m.host.as_str(), m.port),
            (MqttScheme::Mqtt, "127.0.0.1", 1883)
        );
        assert_eq!(m.client_id, format!("actiond-{host}"));
        assert_eq!(m.topic_prefix, format!("actiond/{host}"));
        assert_eq!(m.qos, 1);
        assert_eq!(m.username, None);
        assert_eq!(m.password, None);
        assert_eq!((m.ca_file, m.cert_file, m.key_file), (None, None, None));
        assert_eq!(m.keep_alive_s, 30);
        assert_eq!(m.queue, 1000);

        let c = parse(&with("http", "")).unwrap();
        let h = c.http.expect("[http] present");
        assert_eq!(h.listen, "127.0.0.1:9464".parse().unwrap());
        assert_eq!(h, HttpConfig::default());
    }

    #[test]
    fn hostname_is_topic_safe() {
        let h = hostname();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        if kernel
            .trim()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            assert_eq!(h, kernel.trim());
        }
        assert!(h
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')));
    }

    #[test]
    fn every_mqtt_key() {
        let body = r#"url = "mqtts://broker.example.com:18883"
client_id = "box-7"
topic_prefix = "site/hall-2"
qos = 2
username = "edge"
password_file = "secrets/mqtt.pw"
ca_file = "/etc/ssl/ca.pem"
cert_file = "tls/client.pem"
key_file = "tls/client.key"
keep_alive_s = 60
queue = 50"#;
        let m = parse(&with("mqtt", body)).unwrap().mqtt.unwrap();
        assert_eq!(m.scheme, MqttScheme::Mqtts);
        assert!(m.tls());
        assert_eq!((m.host.as_str(), m.port), ("broker.example.com", 18883));
        assert_eq!(m.client_id, "box-7");
        assert_eq!(m.topic_prefix, "site/hall-2");
        assert_eq!(m.qos, 2);
        assert_eq!(m.username.as_deref(), Some("edge"));
        assert_eq!(
            m.password,
            Some(MqttPassword::File("/etc/actiond/secrets/mqtt.pw".into()))
        );
        assert_eq!(m.ca_file.as_deref(), Some(Path::new("/etc/ssl/ca.pem")));
        assert_eq!(
            m.cert_file.as_deref(),
            Some(Path::new("/etc/actiond/tls/client.pem"))
        );
        assert_eq!(
            m.key_file.as_deref(),
            Some(Path::new("/etc/actiond/tls/client.key"))
        );
        assert_eq!(m.keep_alive_s, 60);
        assert_eq!(m.queue, 50);
    }

    #[test]
    fn broker_urls() {
        let ok = [
            ("mqtt://10.0.0.5", MqttScheme::Mqtt, "10.0.0.5", 1883),
            ("mqtts://broker", MqttScheme::Mqtts, "broker", 8883),
            ("mqtt://broker:1884/", MqttScheme::Mqtt, "broker", 1884),
            ("mqtt://[::1]:1885", MqttScheme::Mqtt, "::1", 1885),
            ("mqtts://[fe80::1]", MqttScheme::Mqtts, "fe80::1", 8883),
        ];
        for (url, scheme, host, port) in ok {
            let m = parse(&with("mqtt", &format!("url = \"{url}\"")))
                .unwrap()
                .mqtt
                .unwrap();
            assert_eq!(
                (m.scheme, m.host.as_str(), m.port),
                (scheme, host, port),
                "{url}"
            );
            assert_eq!(m.url, url);
        }
        let bad = [
            ("tcp://broker:1883", "unsupported broker URL `tcp…`"),
            ("broker:1883", "unsupported broker URL"),
            // A mistyped `://` must not show the password that follows.
            ("mqtt:/u:pw-x@broker:1883", "unsupported broker URL; use"),
            ("mqtt://", "has no host"),
            ("mqtt://:1883", "has no host"),
            ("mqtt://broker:0", "port must be 1 to 65535"),
            ("mqtt://broker:99999", "port must be 1 to 65535"),
            ("mqtt://broker:x", "port must be 1 to 65535"),
            ("mqtt://broker/topic", "has a path or query"),
            ("mqtt://[::1", "unclosed `[`"),
            ("", "must not be empty"),
        ];
        for (url, fragment) in bad {
            let (column, _) = invalid(
                &with("mqtt", &format!("url = \"{url}\"")),
                "mqtt.url",
                9,
                fragment,
            );
            assert_eq!(column, 7, "{url}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let text = with("mqtt", "url = \"mqtt://bob:hunter2@broker\"");
        let (_, message) = invalid(&text, "mqtt.url", 9, "use the `username` and `password`");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn bad_values() {
        let cases = [
            ("qos = 3", "mqtt.qos", "must be at most 2, got 3"),
            ("qos = -1", "mqtt.qos", "must be at least 0"),
            ("qos = \"1\"", "mqtt.qos", "expected an integer"),
            ("client_id = \"\"", "mqtt.client_id", "must not be empty"),
            ("client_id = \"a b\"", "mqtt.client_id", "without spaces"),
            (
                "topic_prefix = \"\"",
                "mqtt.topic_prefix",
                "must not be empty",
            ),
            ("topic_prefix = \"a/+/b\"", "mqtt.topic_prefix", "wildcards"),
            ("topic_prefix = \"a/#\"", "mqtt.topic_prefix", "wildcards"),
            (
                "topic_prefix = \"$SYS/x\"",
                "mqtt.topic_prefix",
                "must not start with `$`",
            ),
            (
                "topic_prefix = \"a/\"",
                "mqtt.topic_prefix",
                "must not start or end with `/`",
            ),
            (
                "topic_prefix = \"/a\"",
                "mqtt.topic_prefix",
                "must not start or end with `/`",
            ),
            (
                "topic_prefix = \"a//b\"",
                "mqtt.topic_prefix",
                "empty levels",
            ),
            ("username = \"\"", "mqtt.username", "must not be empty"),
            ("password = \"x\"", "mqtt.password", "needs a `username`"),
            (
                "password_file = \"pw\"",
                "mqtt.password_file",
                "needs a `username`",
            ),
            (
                "ca_file = \"ca.pem\"",
                "mqtt.ca_file",
                "must start with mqtts://",
            ),
            (
                "keep_alive_s = 2",
                "mqtt.keep_alive_s",
                "must be at least 5",
            ),
            (
                "keep_alive_s = 4000",
                "mqtt.keep_alive_s",
                "must be at most 3600",
            ),
            ("queue = 0", "mqtt.queue", "must be at least 1"),
            (
                "retain = true",
                "mqtt.retain",
                "unknown key `retain`; expected one of: url, client_id,",
            ),
        ];
        for (line, key, fragment) in cases {
            invalid(&with("mqtt", line), key, 9, fragment);
        }
    }

    #[test]
    fn password_and_password_file_are_exclusive() {
        let text = with(
            "mqtt",
            "username = \"u\"\npassword = \"p\"\npassword_file = \"f\"",
        );
        invalid(
            &text,
            "mqtt.password_file",
            11,
            "either `password` or `password_file`",
        );
    }

    #[test]
    fn client_certificate_needs_both_files() {
        let text = with("mqtt", "url = \"mqtts://b\"\ncert_file = \"c.pem\"");
        invalid(&text, "mqtt.cert_file", 10, "needs `key_file` too");
        let text = with("mqtt", "url = \"mqtts://b\"\nkey_file = \"k.pem\"");
        invalid(&text, "mqtt.key_file", 10, "needs `cert_file` too");
    }

    #[test]
    fn debug_hides_the_password() {
        let text = with("mqtt", "username = \"u\"\npassword = \"hunter2\"");
        let c = parse(&text).unwrap();
        let m = c.mqtt.as_ref().unwrap();
        assert_eq!(m.password.as_ref().unwrap().read().unwrap(), "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn password_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\nignored\n").unwrap();
        assert_eq!(MqttPassword::File(f).read().unwrap(), "s3cret");
    }

    /// The reference config with its commented `[mqtt]`, `[http]` and `[record]` sections switched on
    /// (every `# key = value` line under them, except keys in `skip`).
    pub(in crate::config) fn reference_with_sections_on(skip: &[&str]) -> String {
        let text = include_str!("../../config/actiond.toml");
        let mut out = String::new();
        let mut on = false;
        for line in text.lines() {
            let t = line.trim();
            if t == "# [mqtt]" || t == "# [http]" || t == "# [record]" {
                on = true;
                out.push_str(&t[2..]);
            } else if on && t.starts_with("# ") && t[2..].contains(" = ") {
                let key = t[2..].split(" = ").next().unwrap();
                if key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    if !skip.contains(&key) {
                        out.push_str(&t[2..]);
                    }
                } else {
                    out.push_str(line);
                }
            } else {
                if t.is_empty() {
                    on = false;
                }
                out.push_str(line);
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn reference_config_documents_every_key_with_its_default() {
        let text = include_str!("../../config/actiond.toml");
        let (mqtt_keys, http_keys) = (keys::<MqttConfig>(), keys::<HttpConfig>());
        for key in mqtt_keys.iter().chain(http_keys) {
            assert!(
                text.contains(&format!("# {key} = ")),
                "config/actiond.toml does not document {key}"
            );
        }
        // Shipped with both sections commented out: off.
        let c = parse(text).unwrap();
        assert_eq!((c.mqtt, c.http), (None, None));
        // Switched on, the documented values are the defaults (plus the examples).
        let on = reference_with_sections_on(&["password", "ca_file", "cert_file", "key_file"]);
        let c = parse(&on).unwrap_or_else(|e| panic!("{e}\n{on}"));
        let m = c.mqtt.expect("[mqtt] switched on");
        let d = MqttConfig::with_defaults();
        assert_eq!(
            (m.url.as_str(), m.host.as_str(), m.port),
            (d.url.as_str(), "127.0.0.1", 1883)
        );
        assert_eq!(
            (m.qos, m.keep_alive_s, m.queue),
            (d.qos, d.keep_alive_s, d.queue)
        );
        assert_eq!(c.http, Some(HttpConfig::default()));
    }

    #[test]
    fn http_listen() {
        for (s, expected) in [
            ("127.0.0.1:9100", "127.0.0.1:9100"),
            ("[::1]:9464", "[::1]:9464"),
            ("0.0.0.0:0", "0.0.0.0:0"),
        ] {
            let c = parse(&with("http", &format!("listen = \"{s}\""))).unwrap();
            assert_eq!(c.http.unwrap().listen, expected.parse().unwrap());
        }
        for bad in ["localhost:9464", "127.0.0.1", ":9464", "127.0.0.1:70000"] {
            let (column, _) = invalid(
                &with("http", &format!("listen = \"{bad}\"")),
                "http.listen",
                9,
                "is not an address with a port",
            );
            assert_eq!(column, 10);
        }
        invalid(
            &with("http", "listen = 9464"),
            "http.listen",
            9,
            "expected a string",
        );
        invalid(
            &with("http", "port = 1"),
            "http.port",
            9,
            "unknown key `port`; expected one of: listen",
        );
        invalid(
            &format!("http = true\n{MINIMAL}"),
            "http",
            1,
            "expected a table",
        );
    }
}
