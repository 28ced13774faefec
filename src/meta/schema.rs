//! The meta tools' JSON Schemas as JSON Schema 2020-12 defines them: schemars marks integers
//! with formats of its own (`uint`, `uint16`, `int32`, …), which strict validators (ajv in
//! the TypeScript SDK and MCP Inspector) report on every session as unknown. Those formats
//! go; the bounds schemars also writes (`minimum`, `maximum`) say the same in standard words.
//!
//! Output schemas keep their structure only: their field descriptions (the README's) were
//! 28 KB of the meta tools' 59 KB in every tools/list (BENCHMARKS.md, 2026-12-08), and
//! validating a result needs none of them. Input schemas keep theirs: they tell the model
//! what to pass.

use rmcp::model::{JsonObject, Tool};
use serde_json::Value;

/// The formats JSON Schema 2020-12 defines (its format vocabulary).
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// `tool` with only standard formats in its input and output schemas, and no field
/// descriptions in its output schema.
pub fn standard(mut tool: Tool) -> Tool {
    tool.input_schema = std::sync::Arc::new(cleaned(&tool.input_schema, &non_standard_format));
    if let Some(output) = &tool.output_schema {
        let drop = |key: &str, value: &Value| {
            non_standard_format(key, value) || (key == "description" && value.is_string())
        };
        tool.output_schema = Some(std::sync::Arc::new(cleaned(output, &drop)));
    }
    tool
}

/// Whether `key: value` is a `format` keyword JSON Schema does not define.
fn non_standard_format(key: &str, value: &Value) -> bool {
    key == "format"
        && value
            .as_str()
            .is_some_and(|f| !STANDARD_FORMATS.contains(&f))
}

fn cleaned(schema: &JsonObject, drop: &dyn Fn(&str, &Value) -> bool) -> JsonObject {
    let mut value = Value::Object(schema.clone());
    drop_keywords(&mut value, drop);
    match value {
        Value::Object(object) => object,
        _ => JsonObject::new(),
    }
}

/// Removes every keyword `drop` says in `value`, at any depth. A property named like a
/// keyword (under `properties`, e.g. `format`) is a name, not the keyword, and stays.
fn drop_keywords(value: &mut Value, drop: &dyn Fn(&str, &Value) -> bool) {
    match value {
        Value::Object(object) => {
            object.retain(|key, value| !drop(key, value));
            for (key, child) in object.iter_mut() {
                if key == "properties" {
                    if let Value::Object(properties) = child {
                        properties.values_mut().for_each(|p| drop_keywords(p, drop));
                    }
                } else {
                    drop_keywords(child, drop);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| drop_keywords(i, drop)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_standard_formats_stay_and_property_names_are_kept() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "port": {"type": "integer", "format": "uint16", "minimum": 0, "maximum": 65535},
                "at": {"type": "string", "format": "date-time"},
                "format": {"type": "string"},
                "nested": {"anyOf": [{"type": "integer", "format": "int32"}, {"type": "null"}]}
            },
            "$defs": {"Count": {"type": "integer", "format": "uint"}}
        });
        let Value::Object(object) = schema else {
            unreachable!()
        };
        let cleaned = Value::Object(cleaned(&object, &non_standard_format));
        assert_eq!(cleaned["properties"]["port"].get("format"), None);
        assert_eq!(cleaned["properties"]["port"]["maximum"], 65535);
        assert_eq!(cleaned["properties"]["at"]["format"], "date-time");
        assert_eq!(cleaned["properties"]["format"]["type"], "string");
        assert_eq!(
            cleaned["properties"]["nested"]["anyOf"][0].get("format"),
            None
        );
        assert_eq!(cleaned["$defs"]["Count"].get("format"), None);
    }

    #[test]
    fn output_schemas_lose_descriptions_but_not_a_property_named_description() {
        let output = serde_json::json!({
            "type": "object", "description": "a server",
            "properties": {
                "description": {"type": "string", "description": "what it does"},
                "port": {"type": "integer", "format": "uint16", "description": "its port"}
            },
            "required": ["description"]
        });
        let input = serde_json::json!({"type": "object", "properties": {
            "name": {"type": "string", "description": "kept: the model reads it"}}});
        let tool = Tool::new(
            "t",
            "a tool",
            std::sync::Arc::new(input.as_object().unwrap().clone()),
        )
        .with_raw_output_schema(std::sync::Arc::new(output.as_object().unwrap().clone()));
        let tool = standard(tool);
        let output = Value::Object((*tool.output_schema.unwrap()).clone());
        assert_eq!(output.get("description"), None);
        assert_eq!(
            output["properties"]["description"],
            serde_json::json!({"type": "string"})
        );
        assert_eq!(
            output["properties"]["port"],
            serde_json::json!({"type": "integer"})
        );
        assert_eq!(output["required"][0], "description");
        let input = Value::Object((*tool.input_schema).clone());
        assert_eq!(
            input["properties"]["name"]["description"],
            "kept: the model reads it"
        );
    }
}
