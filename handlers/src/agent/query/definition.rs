//! One query tool as the model is told of it ([`Definition`]), and the JSON schema of its
//! arguments ([`parameters`]): what every provider's file writes of its tools, and [`tool`](super::tool)
//! gathers.

use serde_json::{json, Value};

use super::window;

/// One tool as the model is told of it.
pub struct Definition {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
}

/// A tool's argument schema: `properties` (a JSON object), with the time-range properties when
/// `ranged`.
pub fn parameters(mut properties: Value, ranged: bool, required: &[&str]) -> Value {
    if let (true, Value::Object(into), Value::Object(range)) =
        (ranged, &mut properties, window::schema_properties())
    {
        into.extend(range);
    }
    json!({"type": "object", "properties": properties, "required": required})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ranged_schema_takes_the_time_range_and_an_unranged_one_does_not() {
        let own = json!({"query": {"type": "string"}});
        let ranged = parameters(own.clone(), true, &["query"]);
        assert_eq!(ranged["type"], "object");
        assert_eq!(ranged["required"], json!(["query"]));
        for key in ["query", "since_minutes", "from", "to"] {
            assert!(ranged["properties"].get(key).is_some(), "{key}");
        }
        let unranged = parameters(own.clone(), false, &[]);
        assert_eq!(unranged["properties"], own);
        assert_eq!(unranged["required"], json!([]));
    }
}
