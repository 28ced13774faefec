//! The meta tools' JSON Schemas as JSON Schema 2020-12 defines them: schemars marks integers
//! with formats of its own (`uint`, `uint16`, `int32`, …), which strict validators (ajv in
//! the TypeScript SDK and MCP Inspector) report on every session as unknown. Those formats
//! go; the bounds schemars also writes (`minimum`, `maximum`) say the same in standard words.

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

/// `tool` with only standard formats in its input and output schemas.
pub fn standard(mut tool: Tool) -> Tool {
    tool.input_schema = std::sync::Arc::new(cleaned(&tool.input_schema));
    if let Some(output) = &tool.output_schema {
        tool.output_schema = Some(std::sync::Arc::new(cleaned(output)));
    }
    tool
}

fn cleaned(schema: &JsonObject) -> JsonObject {
    let mut value = Value::Object(schema.clone());
    drop_formats(&mut value);
    match value {
        Value::Object(object) => object,
        _ => JsonObject::new(),
    }
}

/// Removes every non-standard `format` keyword in `value`, at any depth. A property that
/// is itself named `format` (under `properties`) is a name, not the keyword, and stays.
fn drop_formats(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let keyword = object
                .get("format")
                .is_some_and(|f| f.as_str().is_some_and(|f| !STANDARD_FORMATS.contains(&f)));
            if keyword {
                object.remove("format");
            }
            for (key, child) in object.iter_mut() {
                if key == "properties" {
                    if let Value::Object(properties) = child {
                        properties.values_mut().for_each(drop_formats);
                    }
                } else {
                    drop_formats(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_formats),
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
        let cleaned = Value::Object(cleaned(&object));
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
}
