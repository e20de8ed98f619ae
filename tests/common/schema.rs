//! The published JSON Schema (schema/messages.schema.json) as a validator.

use serde_json::Value;

/// The strict schema document.
pub fn document() -> Value {
    read("messages.schema.json")
}

/// A validator for the lenient schema (the one consumers are told to use).
pub fn lenient_validator() -> jsonschema::Validator {
    jsonschema::validator_for(&read("messages.lenient.schema.json")).expect("the schema compiles")
}

/// A committed schema file under `schema/`.
fn read(file: &str) -> Value {
    let path = super::repo_root().join("schema").join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// A validator for every message type (the top-level schema).
pub fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&document()).expect("the schema compiles")
}

/// A validator for one message type's definition (`#/$defs/<ty>`).
pub fn validator_for_type(ty: &str) -> jsonschema::Validator {
    let mut doc = document();
    doc["$ref"] = Value::String(format!("#/$defs/{ty}"));
    doc.as_object_mut().unwrap().remove("oneOf");
    jsonschema::validator_for(&doc).expect("the schema compiles")
}

/// Panics with every error when `msg` does not match the schema (both the
/// top-level one and its type's definition).
pub fn assert_valid(v: &jsonschema::Validator, msg: &Value) {
    let errors: Vec<String> = v.iter_errors(msg).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "message does not match schema/messages.schema.json:\n{msg}\n{errors:#?}"
    );
    let ty = msg["type"].as_str().unwrap_or("");
    let typed = validator_for_type(ty);
    assert!(
        typed.is_valid(msg),
        "message does not match #/$defs/{ty}: {msg}"
    );
}
