//! MQTT output against a real Mosquitto broker started by each test on a free
//! loopback port, read with a real client (`mosquitto_sub`).

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::checks::{self, Expect};
use common::{schema, Broker, Daemon, StreamSpec, TcpProxy};

const HELLO: Duration = Duration::from_secs(5);
const FIRST: Duration = Duration::from_secs(30);

/// A topic prefix no other test uses.
fn prefix(test: &str) -> String {
    format!("t/{test}-{}", std::process::id())
}

fn mqtt_toml(url: &str, prefix: &str, extra: &str) -> String {
    format!(
        "[mqtt]\nurl = \"{url}\"\ntopic_prefix = \"{prefix}\"\nclient_id = \"{}\"\n{extra}\n",
        prefix.replace('/', "-")
    )
}

fn daemon(broker_url: &str, prefix: &str, extra: &str) -> common::DaemonBuilder {
    common::require_model();
    Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .extra_toml(&mqtt_toml(broker_url, prefix, extra))
}

#[test]
fn predictions_events_status_and_availability_reach_the_broker() {
    let broker = Broker::start();
    let p = prefix("topics");
    // threshold 0 and confirm 1: the first clip confirms a label, so an event follows.
    let d = daemon(&broker.url(), &p, "")
        .threshold(0.0)
        .confirm(1)
        .spawn();
    let mut sock = d.subscribe();
    sock.hello(HELLO);

    // Subscribe once the daemon's retained state is on the broker (its `hello` follows
    // `available` on the same connection): a subscriber that joins later gets the
    // retained copies, which is what this test checks. Subscribing while the daemon is
    // still connecting would see them live, with the retain flag cleared.
    broker
        .subscribe(&format!("{p}/hello"))
        .expect(&format!("{p}/hello"), FIRST);
    let mut sub = broker.subscribe(&format!("{p}/#"));
    let v = schema::validator();
    let online = sub.expect(&format!("{p}/available"), FIRST);
    assert_eq!(online.payload, "online");
    assert!(online.retained, "availability must be retained");
    let hello = sub.expect(&format!("{p}/hello"), FIRST);
    assert!(hello.retained);
    checks::check_hello(&hello.json(), &["cam1"]);
    schema::assert_valid(&v, &hello.json());
    let status = sub.expect(&format!("{p}/cam1/status"), FIRST);
    assert!(status.retained, "status must be retained");
    schema::assert_valid(&v, &status.json());

    let event = sub.expect(&format!("{p}/cam1/event"), FIRST);
    assert!(!event.retained);
    checks::check_event(&event.json(), &Expect::provisional());
    schema::assert_valid(&v, &event.json());

    let mut preds = Vec::new();
    while preds.len() < 4 {
        let m = sub.expect(&format!("{p}/cam1/prediction"), FIRST);
        assert!(!m.retained, "predictions are not retained");
        let j = m.json();
        checks::check_prediction(&j, &Expect::provisional());
        schema::assert_valid(&v, &j);
        preds.push(j);
    }
    checks::check_seq_consecutive(&preds);

    // The payload is exactly what socket subscribers get for the same clip.
    let last = preds.last().unwrap().clone();
    let same = sock
        .next_matching(FIRST, |m| {
            m["type"] == "prediction" && m["seq"] == last["seq"]
        })
        .expect("the socket delivers the same clip");
    assert_eq!(same.msg, last);
    // Nothing goes to topics outside the documented ones.
    for m in &sub.history {
        let rest = m.topic.strip_prefix(&format!("{p}/")).unwrap();
        assert!(
            [
                "available",
                "hello",
                "cam1/status",
                "cam1/prediction",
                "cam1/event",
                "cam1/label",
                "stats"
            ]
            .contains(&rest),
            "unexpected topic {}",
            m.topic
        );
    }
}

#[test]
fn clean_exit_leaves_offline_and_the_final_status_retained() {
    let broker = Broker::start();
    let p = prefix("clean");
    let mut d = daemon(&broker.url(), &p, "").spawn();
    let mut sub = broker.subscribe(&format!("{p}/#"));
    sub.expect(&format!("{p}/cam1/prediction"), FIRST);
    let status = d.terminate();
    assert!(status.success(), "{status}\n{}", d.describe());

    // A client connecting afterwards gets the retained state: offline, stopped.
    let mut late = broker.subscribe(&format!("{p}/#"));
    let avail = late.expect(&format!("{p}/available"), HELLO);
    assert_eq!((avail.payload.as_str(), avail.retained), ("offline", true));
    let st = late.expect(&format!("{p}/cam1/status"), HELLO);
    assert!(st.retained);
    assert_eq!(st.json()["state"], "stopped", "{}", st.payload);
    // The clean exit is an MQTT DISCONNECT, not a dropped link.
    let log = broker.log();
    let id = p.replace('/', "-");
    assert!(
        log.contains(&format!("Client {id} disconnected")),
        "no clean DISCONNECT from {id} in the broker log:\n{log}"
    );
}

#[test]
fn sigkill_publishes_the_last_will() {
    let broker = Broker::start();
    let p = prefix("will");
    let mut d = daemon(&broker.url(), &p, "").spawn();
    let mut sub = broker.subscribe(&format!("{p}/available"));
    let online = sub.expect(&format!("{p}/available"), FIRST);
    assert_eq!(online.payload, "online");
    d.kill_hard();
    let will = sub
        .next_matching(Duration::from_secs(10), |m| m.payload == "offline")
        .unwrap_or_else(|| panic!("no last will within 10 s of SIGKILL\n{}", sub.summary()));
    assert_eq!(will.topic, format!("{p}/available"));
    // And it stays retained for clients that come later.
    let mut late = broker.subscribe(&format!("{p}/available"));
    let m = late.expect(&format!("{p}/available"), HELLO);
    assert_eq!((m.payload.as_str(), m.retained), ("offline", true));
}

#[test]
fn a_restarted_broker_gets_the_state_again_and_predictions_resume() {
    let mut broker = Broker::start();
    // The daemon reaches the broker through a proxy, so that the test's subscriber is
    // on the restarted broker before the daemon can reconnect (else what the daemon
    // delivers first would reach no one).
    let proxy = TcpProxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, broker.port)));
    let p = prefix("restart");
    let url = format!("mqtt://127.0.0.1:{}", proxy.port());
    let d = daemon(&url, &p, "").spawn();
    let mut sock = d.subscribe();
    sock.hello(HELLO);
    let mut old = broker.subscribe(&format!("{p}/#"));
    old.expect(&format!("{p}/cam1/prediction"), FIRST);

    // The link goes silent first, so that predictions are in flight (sent, not
    // acknowledged) when the broker goes away; the broker then forgets everything
    // (no persistence), and the daemon finds the link closed once it flows again.
    proxy.freeze();
    old.collect_for(Duration::from_millis(300));
    // What the old broker delivered before the link froze is not expected again.
    let delivered = old
        .history
        .iter()
        .filter(|m| m.topic.ends_with("/cam1/prediction"))
        .filter_map(|m| m.json()["seq"].as_u64())
        .max()
        .unwrap();
    let frozen = sock
        .collect_matching(3, Duration::from_secs(20), |m| {
            m["type"] == "prediction" && m["seq"].as_u64().unwrap_or(0) > delivered
        })
        .unwrap_or_else(|n| panic!("only {n} predictions while the link was frozen"));
    drop(old);
    proxy.refuse(true);
    broker.stop();
    proxy.thaw();
    // The pipeline does not notice: socket predictions keep coming, consecutively.
    let mut during: Vec<_> = frozen.into_iter().map(|r| r.msg).collect();
    during.extend(sock.collect_predictions(3, Duration::from_secs(20)));
    checks::check_seq_consecutive(&during);

    broker.restart();
    let mut sub = broker.subscribe_ready(&format!("{p}/#"), &format!("{p}/probe"));
    proxy.refuse(false);
    let online = sub.expect(&format!("{p}/available"), Duration::from_secs(45));
    assert_eq!(online.payload, "online");
    let pred = sub.expect(&format!("{p}/cam1/prediction"), FIRST).json();
    // Retained state on a fresh broker can only come from the daemon republishing it:
    // a client subscribing now gets it as retained messages.
    let mut late = broker.subscribe(&format!("{p}/#"));
    let online = late.expect(&format!("{p}/available"), HELLO);
    assert_eq!((online.payload.as_str(), online.retained), ("online", true));
    let hello = late.expect(&format!("{p}/hello"), HELLO);
    assert!(hello.retained);
    let st = late.expect(&format!("{p}/cam1/status"), HELLO);
    assert!(st.retained);
    assert_eq!(st.json()["state"], "running", "{}", st.payload);
    // What was in flight when the link broke and what was published while the broker
    // was away arrive now (sent again, queued), then live ones: nothing is lost.
    let last_during = during.last().unwrap()["seq"].as_u64().unwrap();
    let mut got = vec![pred["seq"].as_u64().unwrap()];
    while *got.last().unwrap() <= last_during {
        let m = sub.expect(&format!("{p}/cam1/prediction"), FIRST).json();
        got.push(m["seq"].as_u64().unwrap());
    }
    for d in &during {
        let seq = d["seq"].as_u64().unwrap();
        assert!(
            got.contains(&seq),
            "prediction {seq} published during the outage was lost; got {got:?}"
        );
    }
}

#[test]
fn a_reload_that_adds_a_stream_updates_the_retained_hello() {
    let broker = Broker::start();
    let p = prefix("reload");
    let d = daemon(&broker.url(), &p, "").spawn();
    let mut sub = broker.subscribe(&format!("{p}/#"));
    sub.expect(&format!("{p}/cam1/prediction"), FIRST);

    let mut cfg = d.config.clone();
    cfg.streams.push(StreamSpec::test("cam2", "smpte"));
    std::fs::write(&d.config_path, cfg.to_toml(&d.socket_path)).unwrap();
    d.signal("HUP");
    let hello = sub
        .next_matching(FIRST, |m| {
            m.topic == format!("{p}/hello") && m.payload.contains("\"cam2\"")
        })
        .unwrap_or_else(|| panic!("no new hello after the reload\n{}", sub.summary()));
    checks::check_hello(&hello.json(), &["cam1", "cam2"]);
    sub.expect(&format!("{p}/cam2/prediction"), FIRST);
    // A client connecting now gets the new list as the retained hello.
    let mut late = broker.subscribe(&format!("{p}/hello"));
    let retained = late.expect(&format!("{p}/hello"), HELLO);
    assert!(retained.retained);
    checks::check_hello(&retained.json(), &["cam1", "cam2"]);
}

#[test]
fn an_unreachable_broker_never_blocks_and_the_queue_drops_and_counts() {
    let port = common::free_port();
    let http = common::free_port();
    let p = prefix("down");
    let url = format!("mqtt://127.0.0.1:{port}");
    let d = daemon(&url, &p, "queue = 3")
        .extra_toml(&format!("[http]\nlisten = \"127.0.0.1:{http}\"\n"))
        .spawn();
    let mut sock = d.subscribe();
    sock.hello(HELLO);
    // No broker at all: predictions flow on the socket as usual.
    let preds = sock.collect_predictions(6, Duration::from_secs(30));
    checks::check_seq_consecutive(&preds);
    // More messages than the queue holds were published: the oldest were dropped and counted.
    let metrics = common::http::get(http, "/metrics").body;
    let dropped = metric_value(&metrics, "actiond_mqtt_messages_total{result=\"dropped\"}");
    assert!(dropped >= 3.0, "dropped = {dropped}\n{metrics}");
    assert_eq!(metric_value(&metrics, "actiond_mqtt_connected"), 0.0);
    assert!(metric_value(&metrics, "actiond_mqtt_queue_messages") <= 3.0);

    // The broker appears: the daemon connects (with backoff) and delivers.
    let broker = Broker::start_with(port, "");
    let mut sub = broker.subscribe(&format!("{p}/#"));
    sub.expect(&format!("{p}/available"), Duration::from_secs(45));
    sub.expect(&format!("{p}/cam1/prediction"), FIRST);
    let metrics = common::http::get(http, "/metrics").body;
    assert_eq!(
        metric_value(&metrics, "actiond_mqtt_connected"),
        1.0,
        "{metrics}"
    );
}

#[test]
fn credentials_from_a_password_file() {
    let dir = common::tempdir();
    let passwd = dir.path().join("passwd");
    let status = std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args(["edge", "s3cret"])
        .status()
        .expect("run mosquitto_passwd");
    assert!(status.success());
    let broker = Broker::start_with(
        common::free_port(),
        &format!("password_file {}", passwd.display()),
    );
    let pw = dir.path().join("mqtt.pw");
    std::fs::write(&pw, "s3cret\n").unwrap();
    let p = prefix("auth");
    let _d = daemon(
        &broker.url(),
        &p,
        &format!("username = \"edge\"\npassword_file = \"{}\"", pw.display()),
    )
    .spawn();
    let mut sub = broker.subscribe_as(&format!("{p}/#"), &["-u", "edge", "-P", "s3cret"]);
    sub.expect(&format!("{p}/cam1/prediction"), FIRST);
}

#[test]
fn a_wrong_password_is_reported_and_retried_without_stopping_the_daemon() {
    let dir = common::tempdir();
    let passwd = dir.path().join("passwd");
    std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args(["edge", "s3cret"])
        .status()
        .expect("run mosquitto_passwd");
    let broker = Broker::start_with(
        common::free_port(),
        &format!("password_file {}", passwd.display()),
    );
    let p = prefix("badauth");
    let mut d = daemon(
        &broker.url(),
        &p,
        "username = \"edge\"\npassword = \"wrong\"",
    )
    .spawn();
    let mut sock = d.subscribe();
    sock.hello(HELLO);
    sock.collect_predictions(2, FIRST);
    d.assert_running();
    let err = d.stderr();
    assert!(
        err.contains("MQTT") && err.contains("cannot connect"),
        "the refusal is not logged:\n{err}"
    );
    assert!(
        !err.contains("wrong"),
        "the password leaked into the log:\n{err}"
    );
}

/// The value of the sample line `name` (with labels as written) in a Prometheus scrape.
fn metric_value(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Runs openssl with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`:
/// ca.pem, server.pem/server.key, client.pem/client.key (EC P-256, one day).
fn make_pki(dir: &std::path::Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
                "-subj",
                "/CN=actiond test CA",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for who in ["server", "client"] {
        let key = format!("{who}.key");
        let csr = format!("{who}.csr");
        let pem = format!("{who}.pem");
        let ext = format!("{who}.ext");
        let subj = format!("/CN={who}");
        openssl(
            dir,
            &[
                &["req"][..],
                &ec,
                &["-keyout", &key, "-out", &csr, "-subj", &subj],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "1",
                "-extfile",
                &ext,
            ],
        );
    }
}

#[test]
fn mqtts_with_a_private_ca_and_a_client_certificate() {
    let pki = common::tempdir();
    make_pki(pki.path());
    let f = |name: &str| pki.path().join(name).display().to_string();
    let broker = Broker::start_with(
        common::free_port(),
        &format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
            f("ca.pem"),
            f("server.pem"),
            f("server.key")
        ),
    );
    let p = prefix("tls");
    let url = format!("mqtts://127.0.0.1:{}", broker.port);
    let tls = format!(
        "ca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"",
        f("ca.pem"),
        f("client.pem"),
        f("client.key")
    );
    let _d = daemon(&url, &p, &tls).spawn();
    let (ca, cert, key) = (f("ca.pem"), f("client.pem"), f("client.key"));
    let mut sub = broker.subscribe_as(
        &format!("{p}/#"),
        &["--cafile", &ca, "--cert", &cert, "--key", &key],
    );
    let online = sub.expect(&format!("{p}/available"), FIRST);
    assert_eq!(online.payload, "online");
    sub.expect(&format!("{p}/cam1/prediction"), FIRST);
}

#[test]
fn mqtts_refuses_a_broker_its_ca_did_not_sign() {
    let pki = common::tempdir();
    make_pki(pki.path());
    let other = common::tempdir();
    make_pki(other.path());
    let f = |name: &str| pki.path().join(name).display().to_string();
    let broker = Broker::start_with(
        common::free_port(),
        &format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            f("ca.pem"),
            f("server.pem"),
            f("server.key")
        ),
    );
    let p = prefix("tlsbad");
    let url = format!("mqtts://127.0.0.1:{}", broker.port);
    let wrong_ca = other.path().join("ca.pem");
    let mut d = daemon(&url, &p, &format!("ca_file = \"{}\"", wrong_ca.display())).spawn();
    let mut sock = d.subscribe();
    sock.hello(HELLO);
    sock.collect_predictions(2, FIRST);
    d.assert_running();
    let err = d.stderr();
    assert!(
        err.contains("MQTT: cannot connect") && err.to_lowercase().contains("certificate"),
        "the TLS refusal is not logged clearly:\n{err}"
    );
}

/// Publishes `payload` on `topic` with `mosquitto_pub`.
fn publish(broker: &Broker, topic: &str, payload: &str) {
    let st = std::process::Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
        .args(["-q", "1", "-t", topic, "-m", payload])
        .status()
        .expect("run mosquitto_pub");
    assert!(st.success(), "mosquitto_pub {topic}");
}

#[test]
fn home_assistant_discovery_retained_label_stats_and_enable_commands() {
    let broker = Broker::start();
    let p = prefix("home");
    let ha = format!("ha-{}", std::process::id());
    let node = p.replace('/', "-");
    let extra = format!(
        "discovery = true\ndiscovery_prefix = \"{ha}\"\nstats_interval_s = 2\ncommands = true"
    );
    // threshold 0 and confirm 1: the first clip confirms a label (an event, a label).
    let _d = daemon(&broker.url(), &p, &extra)
        .stream(StreamSpec::test("cam2", "smpte").raw("enabled", "false"))
        .threshold(0.0)
        .confirm(1)
        .spawn();
    let mut sub = broker.subscribe(&format!("{p}/#"));
    let mut disc = broker.subscribe(&format!("{ha}/#"));

    // Discovery: a label sensor wired to the label topic and the last will, a switch.
    let topic = format!("{ha}/sensor/{node}/cam1_label/config");
    disc.expect(&topic, FIRST);
    // Retained: Home Assistant started later still finds it.
    let label_cfg = broker.subscribe(&topic).expect(&topic, HELLO);
    assert!(label_cfg.retained);
    let v = label_cfg.json();
    assert_eq!(v["state_topic"], format!("{p}/cam1/label"));
    assert_eq!(v["availability_topic"], format!("{p}/available"));
    let switch = disc.expect(&format!("{ha}/switch/{node}/cam2_enabled/config"), FIRST);
    assert_eq!(
        switch.json()["command_topic"],
        format!("{p}/cam2/enabled/set")
    );

    // The confirmed label, as plain text, retained: the `to` of the event.
    let event = sub.expect(&format!("{p}/cam1/event"), FIRST).json();
    let label = sub.expect(&format!("{p}/cam1/label"), FIRST);
    assert_eq!(label.payload, event["to"].as_str().unwrap(), "{event}");
    let mut late = broker.subscribe(&format!("{p}/cam1/label"));
    assert!(late.expect(&format!("{p}/cam1/label"), HELLO).retained);

    // Stats: cam1 analyzing, cam2 not there.
    let stats = sub.expect(&format!("{p}/stats"), FIRST).json();
    assert_eq!(stats["type"], "stats", "{stats}");
    let streams = stats["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1, "{stats}");
    assert_eq!(streams[0]["stream"], "cam1");
    assert!(streams[0]["fps"].as_f64().unwrap() > 0.0, "{stats}");

    // Commands: enable the disabled stream, disable the running one; a bad payload
    // is answered with the unchanged state.
    let state = |sub: &mut common::MqttSub, s: &str, want: &str| {
        sub.next_matching(FIRST, |m| {
            m.topic == format!("{p}/{s}/enabled") && m.payload == want
        })
        .unwrap_or_else(|| panic!("{s} never {want}\n{}", sub.summary()))
    };
    // The disabled stream's state is retained (read by a client that joins now).
    let topic = format!("{p}/cam2/enabled");
    let off = broker.subscribe(&topic).expect(&topic, HELLO);
    assert_eq!((off.payload.as_str(), off.retained), ("OFF", true));
    publish(&broker, &format!("{p}/cam2/enabled/set"), "ON");
    state(&mut sub, "cam2", "ON");
    sub.expect(&format!("{p}/cam2/prediction"), FIRST);
    publish(&broker, &format!("{p}/cam1/enabled/set"), "OFF");
    state(&mut sub, "cam1", "OFF");
    // Stopped before the answer went out: its retained status says so.
    let topic = format!("{p}/cam1/status");
    let status = broker.subscribe(&topic).expect(&topic, HELLO).json();
    assert_eq!(status["state"], "stopped", "{status}");
    publish(&broker, &format!("{p}/cam2/enabled/set"), "sideways");
    state(&mut sub, "cam2", "ON");
    // No cam1 prediction once it stopped (a few seconds of cam2's go by).
    let after = sub.collect_for(Duration::from_secs(3));
    assert!(
        after
            .iter()
            .all(|m| m.topic != format!("{p}/cam1/prediction")),
        "cam1 still predicts after OFF"
    );
}
