//! What home automation reads from MQTT besides the JSON messages: each stream's
//! confirmed label as retained plain text, whether it is enabled, and Home Assistant
//! discovery configs (sensors per stream, availability wired to the last will).

use std::collections::BTreeMap;

use serde_json::json;

use super::Item;
use crate::config::MqttConfig;
use crate::publish::{Message, Published};

/// Payloads of the `enabled` state and command topics (Home Assistant's switch defaults).
pub const ON: &str = "ON";
/// See [`ON`].
pub const OFF: &str = "OFF";

/// The retained per-stream state home automation reads, republished on every connection.
pub struct Home {
    prefix: String,
    /// `Some((discovery prefix, node id, client id))` when discovery is on.
    discovery: Option<(String, String, String)>,
    commands: bool,
    /// Model name, from the latest `hello`.
    model: String,
    /// Every stream known, and whether it runs (from the config, then each `hello`).
    streams: BTreeMap<String, bool>,
    /// Each stream's confirmed label.
    labels: BTreeMap<String, String>,
}

/// An MQTT / Home Assistant id: letters, digits, `_` and `-` kept, others `_`.
fn object_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn retained(topic: String, payload: impl Into<Vec<u8>>) -> Item {
    Item {
        topic,
        payload: payload.into(),
        retain: true,
        status_of: None,
    }
}

impl Home {
    /// From `[mqtt]` and every configured stream (name, enabled).
    pub fn new(cfg: &MqttConfig, streams: &[(String, bool)]) -> Home {
        Home {
            prefix: cfg.topic_prefix.clone(),
            discovery: cfg.discovery.then(|| {
                (
                    cfg.discovery_prefix.clone(),
                    object_id(&cfg.client_id),
                    cfg.client_id.clone(),
                )
            }),
            commands: cfg.commands,
            model: String::new(),
            streams: streams.iter().cloned().collect(),
            labels: BTreeMap::new(),
        }
    }

    /// The topic commands arrive on (`+` for the stream).
    pub fn command_filter(&self) -> String {
        format!("{}/+/enabled/set", self.prefix)
    }

    /// The stream a command topic names, if it is one.
    pub fn command_stream<'a>(&self, topic: &'a str) -> Option<&'a str> {
        topic
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('/')?
            .strip_suffix("/enabled/set")
            .filter(|s| !s.is_empty() && !s.contains('/'))
    }

    /// Whether commands are obeyed.
    pub fn commands(&self) -> bool {
        self.commands
    }

    /// The items a published message adds: the label of an event; the enabled states
    /// and discovery configs of a `hello` (which lists the running streams).
    pub fn on_message(&mut self, p: &Published) -> Vec<Item> {
        match &p.msg {
            Message::Event { stream, to, .. } => {
                self.labels.insert(stream.clone(), to.clone());
                vec![self.label(stream, to)]
            }
            Message::Hello { model, streams, .. } => {
                self.model.clone_from(model);
                for on in self.streams.values_mut() {
                    *on = false;
                }
                for s in streams {
                    self.streams.insert(s.clone(), true);
                }
                self.current_without_labels()
            }
            _ => Vec::new(),
        }
    }

    /// Records a stream's enabled state after a command; the item that says it.
    pub fn set_enabled(&mut self, stream: &str, on: bool) -> Item {
        self.streams.insert(stream.to_string(), on);
        self.enabled_item(stream, on)
    }

    /// The current enabled state of `stream` (for answering a refused command).
    pub fn enabled_of(&self, stream: &str) -> Option<Item> {
        let on = *self.streams.get(stream)?;
        Some(self.enabled_item(stream, on))
    }

    /// Everything retained, for a new connection: discovery configs, enabled states, labels.
    pub fn current(&self) -> Vec<Item> {
        let mut items = self.current_without_labels();
        items.extend(self.labels.iter().map(|(s, l)| self.label(s, l)));
        items
    }

    fn current_without_labels(&self) -> Vec<Item> {
        let mut items = Vec::new();
        for (stream, &on) in &self.streams {
            items.extend(self.discovery_items(stream));
            if self.switchable(stream) {
                items.push(self.enabled_item(stream, on));
            }
        }
        items
    }

    /// Whether `stream` has an enable switch: with commands on, for configured streams
    /// (a region, `<stream>/<region>`, runs while its stream does).
    fn switchable(&self, stream: &str) -> bool {
        self.commands && !stream.contains('/')
    }

    fn label(&self, stream: &str, label: &str) -> Item {
        retained(format!("{}/{stream}/label", self.prefix), label)
    }

    fn enabled_item(&self, stream: &str, on: bool) -> Item {
        retained(
            format!("{}/{stream}/enabled", self.prefix),
            if on { ON } else { OFF },
        )
    }

    /// Home Assistant discovery configs of `stream`: its label and state sensors and,
    /// with commands on, its enable switch.
    fn discovery_items(&self, stream: &str) -> Vec<Item> {
        let Some((dp, node, client_id)) = &self.discovery else {
            return Vec::new();
        };
        let prefix = &self.prefix;
        let obj = object_id(stream);
        let common = |what: &str, name: String| {
            json!({
                "name": name,
                "unique_id": format!("{node}_{obj}_{what}"),
                "object_id": format!("actiond_{obj}_{what}"),
                "availability_topic": format!("{prefix}/available"),
                "payload_available": "online",
                "payload_not_available": "offline",
                "device": {
                    "identifiers": [client_id],
                    "name": format!("actiond {client_id}"),
                    "manufacturer": "actiond",
                    "model": self.model,
                    "sw_version": env!("CARGO_PKG_VERSION"),
                },
            })
        };
        let mut label = common("label", format!("{stream} action"));
        label["state_topic"] = json!(format!("{prefix}/{stream}/label"));
        label["icon"] = json!("mdi:run");
        let mut state = common("state", format!("{stream} state"));
        state["state_topic"] = json!(format!("{prefix}/{stream}/status"));
        state["value_template"] = json!("{{ value_json.state }}");
        state["json_attributes_topic"] = json!(format!("{prefix}/{stream}/status"));
        state["icon"] = json!("mdi:cctv");
        let config = |component: &str, what: &str, v: serde_json::Value| {
            retained(
                format!("{dp}/{component}/{node}/{obj}_{what}/config"),
                v.to_string(),
            )
        };
        let mut items = vec![
            config("sensor", "label", label),
            config("sensor", "state", state),
        ];
        if self.switchable(stream) {
            let mut switch = common("enabled", format!("{stream} enabled"));
            switch["state_topic"] = json!(format!("{prefix}/{stream}/enabled"));
            switch["command_topic"] = json!(format!("{prefix}/{stream}/enabled/set"));
            switch["payload_on"] = json!(ON);
            switch["payload_off"] = json!(OFF);
            switch["icon"] = json!("mdi:cctv");
            items.push(config("switch", "enabled", switch));
        }
        items
    }
}

/// A command payload: `ON`/`OFF` (Home Assistant), also `true`/`false`, `1`/`0`, any case.
pub fn parse_switch(payload: &[u8]) -> Option<bool> {
    let s = std::str::from_utf8(payload)
        .ok()?
        .trim()
        .to_ascii_lowercase();
    match s.as_str() {
        "on" | "true" | "1" | "enable" | "enabled" => Some(true),
        "off" | "false" | "0" | "disable" | "disabled" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{EventKind, VERSION};

    fn cfg(discovery: bool, commands: bool) -> MqttConfig {
        let mut c = crate::config::Config::parse(
            "[model]\npath = \"m.onnx\"\n[mqtt]\nclient_id = \"box-1\"\ntopic_prefix = \"actiond/box\"\n[[stream]]\nname = \"a\"\nuri = \"test:ball\"\n",
            std::path::Path::new("/etc/actiond/actiond.toml"),
        )
        .expect("a valid config")
        .mqtt
        .expect("[mqtt]");
        c.discovery = discovery;
        c.commands = commands;
        c
    }

    fn hello(streams: &[&str]) -> std::sync::Arc<Published> {
        Published::new(Message::Hello {
            v: VERSION,
            version: "0".into(),
            model: "m".into(),
            labels: vec![],
            streams: streams.iter().map(|s| s.to_string()).collect(),
            models: vec![],
        })
    }

    #[test]
    fn events_give_the_retained_label_and_connections_repeat_it() {
        let mut h = Home::new(&cfg(false, false), &[("a".into(), true)]);
        let ev = Published::new(Message::Event {
            v: VERSION,
            id: "0123456789abcdef".into(),
            stream: "a".into(),
            event: EventKind::LabelChanged,
            from: None,
            to: "waving".into(),
            score: 0.9,
            clip: None,
            snapshot: None,
            clip_url: None,
            snapshot_url: None,
        });
        let items = h.on_message(&ev);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].topic, "actiond/box/a/label");
        assert_eq!(items[0].payload, b"waving");
        assert!(items[0].retain);
        assert_eq!(
            h.current(),
            items,
            "no discovery, no commands: just the label"
        );
    }

    #[test]
    fn discovery_lists_sensors_per_stream_and_a_switch_with_commands() {
        let mut h = Home::new(
            &cfg(true, true),
            &[("a".into(), true), ("b.x".into(), false)],
        );
        let items = h.on_message(&hello(&["a"]));
        let topics: Vec<&str> = items.iter().map(|i| i.topic.as_str()).collect();
        assert_eq!(
            topics,
            [
                "homeassistant/sensor/box-1/a_label/config",
                "homeassistant/sensor/box-1/a_state/config",
                "homeassistant/switch/box-1/a_enabled/config",
                "actiond/box/a/enabled",
                "homeassistant/sensor/box-1/b_x_label/config",
                "homeassistant/sensor/box-1/b_x_state/config",
                "homeassistant/switch/box-1/b_x_enabled/config",
                "actiond/box/b.x/enabled",
            ]
        );
        assert_eq!(items[3].payload, b"ON");
        assert_eq!(items[7].payload, b"OFF", "b.x is not in hello: disabled");
        let label: serde_json::Value = serde_json::from_slice(&items[0].payload).unwrap();
        assert_eq!(label["state_topic"], "actiond/box/a/label");
        assert_eq!(label["availability_topic"], "actiond/box/available");
        assert_eq!(label["device"]["model"], "m");
        let switch: serde_json::Value = serde_json::from_slice(&items[2].payload).unwrap();
        assert_eq!(switch["command_topic"], "actiond/box/a/enabled/set");
        assert!(items.iter().all(|i| i.retain));
    }

    #[test]
    fn command_topics_name_their_stream() {
        let h = Home::new(&cfg(false, true), &[]);
        assert_eq!(h.command_filter(), "actiond/box/+/enabled/set");
        assert_eq!(h.command_stream("actiond/box/cam/enabled/set"), Some("cam"));
        assert_eq!(h.command_stream("actiond/box/enabled/set"), None);
        assert_eq!(h.command_stream("actiond/other/cam/enabled/set"), None);
        assert_eq!(h.command_stream("actiond/box/a/b/enabled/set"), None);
        assert_eq!(parse_switch(b"ON"), Some(true));
        assert_eq!(parse_switch(b" off\n"), Some(false));
        assert_eq!(parse_switch(b"maybe"), None);
    }
}
