//! The JSON Schema of the messages, generated from the types in [`super::message`]:
//! strict (no undocumented fields, for the project's tests) and lenient (for consumers,
//! who must not break when a later 1.x adds a field or a message type).
//! `schema/messages.schema.json` and `schema/messages.lenient.schema.json` are this
//! module's output, committed; a test checks they are current (`actiond schema`).

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::message::{Message, VERSION};

/// Which schema: strict (tests) or lenient (consumers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// No fields or message types beyond the documented ones.
    Strict,
    /// Unknown fields and unknown message types are accepted; known ones are checked.
    Lenient,
}

impl Flavor {
    /// The committed file's name under `schema/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Flavor::Strict => "messages.schema.json",
            Flavor::Lenient => "messages.lenient.schema.json",
        }
    }
}

/// Pattern of a published stream name: a `[[stream]] name`, or a region's
/// `<stream>/<region>`.
pub const STREAM_PATTERN: &str = "^[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64})?$";

/// Pattern of a tag name (as a `[[stream]] name`).
const TAG_PATTERN: &str = "^[A-Za-z0-9_.-]{1,64}$";

/// Pattern of the timestamps the daemon writes (RFC 3339, UTC).
const TIMESTAMP_PATTERN: &str =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$";

/// Schema of `v`: the protocol version.
pub struct Version;

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "version".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"description": "Protocol version.", "const": VERSION})
    }
}

/// Schema of a stream name.
pub struct StreamName;

impl JsonSchema for StreamName {
    fn schema_name() -> Cow<'static, str> {
        "stream".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Stream name, as in the configuration's [[stream]] name; a region's is `<stream>/<region>` (its [[stream.region]] name).",
            "type": "string",
            "pattern": STREAM_PATTERN,
        })
    }
}

/// Schema of a probability.
pub struct Score;

impl JsonSchema for Score {
    fn schema_name() -> Cow<'static, str> {
        "score".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"description": "Probability.", "type": "number", "minimum": 0, "maximum": 1})
    }
}

/// Schema of a wall-clock time as the daemon writes it.
pub struct Timestamp;

impl JsonSchema for Timestamp {
    fn schema_name() -> Cow<'static, str> {
        "timestamp".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Wall-clock time, RFC 3339 in UTC with up to microseconds, e.g. 2026-11-27T20:53:31.930618Z.",
            "type": "string",
            "format": "date-time",
            "pattern": TIMESTAMP_PATTERN,
        })
    }
}

/// Schema of a stream's `tags`.
struct Tags;

impl JsonSchema for Tags {
    fn schema_name() -> Cow<'static, str> {
        "tags".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The stream's [[stream]] tags (site, location, …), in every message of the stream; absent when it has none.",
            "type": "object",
            "maxProperties": 16,
            "propertyNames": {"pattern": TAG_PATTERN},
            "additionalProperties": {"type": "string", "maxLength": 256},
        })
    }
}

/// The schema document of `flavor`, as committed under `schema/`.
pub fn document(flavor: Flavor) -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let root = generator.root_schema_for::<Message>().to_value();
    let ts = json!({
        "description": "When the daemon published this message (wall clock). A replayed status or hello keeps the time it was first published.",
        "$ref": generator.subschema_for::<Timestamp>().to_value()["$ref"],
    });
    let tags = generator.subschema_for::<Tags>().to_value();
    let mut defs = generator.take_definitions(true);
    let mut names = Vec::new();
    for variant in root["oneOf"].as_array().into_iter().flatten() {
        let (name, def) = message_def(variant, &ts, &tags);
        defs.insert(name.clone(), def);
        names.push(name);
    }
    if flavor == Flavor::Strict {
        for def in defs.values_mut() {
            close_objects(def);
        }
    }
    top_level(flavor, &names, defs)
}

/// One message type's definition: schemars' variant plus `ts` and, on a stream's
/// messages, `tags` (both added to the line by `Published::stamped`).
fn message_def(variant: &Value, ts: &Value, tags: &Value) -> (String, Value) {
    let mut def = variant.clone();
    let name = def["properties"]["type"]["const"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let has_stream = def["properties"].get("stream").is_some();
    if let Some(props) = def["properties"].as_object_mut() {
        // Serde defaults are for reading old lines; on the wire every field is written.
        for prop in props.values_mut().filter_map(Value::as_object_mut) {
            prop.remove("default");
        }
        props.insert("ts".into(), ts.clone());
        if has_stream {
            props.insert("tags".into(), tags.clone());
        }
    }
    if let Some(required) = def["required"].as_array_mut() {
        required.push("ts".into());
    }
    (name, def)
}

/// Sets `additionalProperties: false` on every object schema with listed properties.
fn close_objects(schema: &mut Value) {
    if let Some(obj) = schema.as_object_mut() {
        if obj.contains_key("properties") && !obj.contains_key("additionalProperties") {
            obj.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
}

/// The document around the definitions: any one of the message types.
fn top_level(flavor: Flavor, names: &[String], defs: Map<String, Value>) -> Value {
    let refs: Vec<Value> = names
        .iter()
        .map(|n| json!({"$ref": format!("#/$defs/{n}")}))
        .collect();
    let (title, description, type_schema, choice) = match flavor {
        Flavor::Strict => (
            "actiond message (protocol v1), strict",
            "One JSON object per line on the Unix socket and stdout, and one MQTT payload per message. Every message has `type`, `v` and `ts`; a stream's messages carry its `tags` when it has any; events have an `id`. Strict: no undocumented fields or message types, so that the project's tests catch any drift. Consumers should use messages.lenient.schema.json, which accepts what a later 1.x may add.",
            json!({"enum": names}),
            json!({"oneOf": refs}),
        ),
        Flavor::Lenient => {
            let mut any = refs;
            any.push(json!({"not": {"properties": {"type": {"enum": names}}}}));
            (
                "actiond message (protocol v1), lenient",
                "One JSON object per line on the Unix socket and stdout, and one MQTT payload per message. For consumers: a known message type must have its documented fields with their documented types; fields and message types added by a later 1.x are accepted.",
                json!({"type": "string"}),
                json!({"anyOf": any}),
            )
        }
    };
    let mut doc = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("https://github.com/actiond/actiond/schema/{}", flavor.file_name()),
        "title": title,
        "description": description,
        "type": "object",
        "required": ["type", "v"],
        "properties": {"type": type_schema, "v": {"const": VERSION}},
    });
    let obj = doc.as_object_mut().expect("an object");
    obj.extend(choice.as_object().expect("an object").clone());
    obj.insert("$defs".into(), Value::Object(defs));
    doc
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn text(flavor: Flavor) -> String {
    let mut s = serde_json::to_string_pretty(&document(flavor)).expect("JSON serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(flavor: Flavor) -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/");
        std::fs::read_to_string(format!("{path}{}", flavor.file_name())).unwrap()
    }

    #[test]
    fn the_committed_schemas_are_generated_from_the_types() {
        for flavor in [Flavor::Strict, Flavor::Lenient] {
            assert!(
                committed(flavor) == text(flavor),
                "schema/{} is not what the types generate: run `cargo run -- schema --write schema/`",
                flavor.file_name()
            );
        }
    }

    #[test]
    fn every_message_type_has_a_definition_with_ts() {
        let doc = document(Flavor::Strict);
        for ty in ["hello", "prediction", "frame", "event", "status", "goodbye"] {
            let def = &doc["$defs"][ty];
            assert_eq!(def["properties"]["type"]["const"], ty, "{def}");
            assert!(def["required"].as_array().unwrap().contains(&"ts".into()));
            assert_eq!(def["additionalProperties"], false, "{ty}");
        }
        assert!(doc["$defs"]["status"]["properties"]["tags"].is_object());
        assert!(doc["$defs"]["goodbye"]["properties"]["tags"].is_null());
    }

    fn validator(flavor: Flavor) -> jsonschema::Validator {
        jsonschema::validator_for(&document(flavor)).unwrap()
    }

    #[test]
    fn lenient_accepts_additions_that_strict_refuses() {
        let status = json!({"type": "status", "v": 1, "stream": "cam", "state": "running",
            "reason": "r", "ts": "2026-12-02T21:00:00.5Z"});
        let mut extra = status.clone();
        extra["colour"] = "red".into();
        let new_type = json!({"type": "heartbeat", "v": 1, "ts": "2026-12-02T21:00:00Z"});
        let (strict, lenient) = (validator(Flavor::Strict), validator(Flavor::Lenient));
        for ok in [&status, &extra, &new_type] {
            assert!(lenient.is_valid(ok), "lenient refused {ok}");
        }
        assert!(strict.is_valid(&status));
        assert!(!strict.is_valid(&extra));
        assert!(!strict.is_valid(&new_type));
    }

    #[test]
    fn lenient_still_checks_known_types() {
        let lenient = validator(Flavor::Lenient);
        let good = json!({"type": "status", "v": 1, "stream": "cam", "state": "running",
            "reason": "r", "ts": "2026-12-02T21:00:00Z"});
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("state");
        let mut bad_state = good.clone();
        bad_state["state"] = "sleeping".into();
        let mut version = good.clone();
        version["v"] = 2.into();
        let mut no_ts = good.clone();
        no_ts.as_object_mut().unwrap().remove("ts");
        assert!(lenient.is_valid(&good));
        for bad in [missing, bad_state, version, no_ts] {
            assert!(!lenient.is_valid(&bad), "lenient accepted {bad}");
        }
    }
}
