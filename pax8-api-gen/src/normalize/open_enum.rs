//! Rule `open-enum`.

use heck::ToUpperCamelCase;
use serde_json::{Value, json};

use super::visit::visit_schemas;
use crate::error::Result;
use crate::report::DocReport;

/// A string enum that the generated code represents as an open enum (known variants plus
/// `Unknown(String)`), so a value the server adds later does not fail a whole response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEnum {
    /// Component schema name (UpperCamelCase), also the Rust type name.
    pub name: String,
    /// The documented values, in document order.
    pub values: Vec<String>,
    /// The schema's description, if any.
    pub description: Option<String>,
}

/// Rule `open-enum`: every string enum becomes a named component schema (inline ones are hoisted,
/// named after where they stand, see [`visit_schemas`]), and is listed so the generator replaces
/// it with an open enum.
pub fn hoist_string_enums(doc: &mut Value, report: &mut DocReport) -> Result<Vec<OpenEnum>> {
    let components: Vec<String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut hoister = Hoister { taken: components, created: Vec::new(), enums: Vec::new() };
    visit_schemas(doc, &mut |schema, context, at| {
        let Some(values) = string_enum_values(schema) else {
            return false;
        };
        let component = at.strip_prefix("/components/schemas/").filter(|rest| !rest.contains('/'));
        if let Some(name) = component {
            hoister.enums.push(OpenEnum { name: name.to_string(), values, description: description(schema) });
            report.add("open-enum", at, format!("component `{name}` becomes an open enum"));
        } else {
            let name = hoister.name_for(context, &values, description(schema));
            report.add("open-enum", at, format!("hoisted to `{name}`"));
            *schema = json!({"$ref": format!("#/components/schemas/{name}")});
        }
        true
    });
    if !hoister.created.is_empty() {
        let schemas =
            doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut).expect("components.schemas exists");
        for (name, schema) in hoister.created {
            schemas.insert(name, schema);
        }
    }
    Ok(hoister.enums)
}

struct Hoister {
    taken: Vec<String>,
    created: Vec<(String, Value)>,
    enums: Vec<OpenEnum>,
}

impl Hoister {
    /// A free component name for an enum with these values; an existing hoisted enum of the same
    /// name and values is reused.
    fn name_for(&mut self, context: &str, values: &[String], description: Option<String>) -> String {
        let base = context.to_upper_camel_case();
        let mut n = 1;
        loop {
            let name = if n == 1 { base.clone() } else { format!("{base}{n}") };
            if let Some(existing) = self.enums.iter().find(|e| e.name == name)
                && existing.values == values
                && self.created.iter().any(|(c, _)| *c == name)
            {
                return name;
            }
            if !self.taken.contains(&name) {
                let mut schema = json!({"type": "string", "enum": values});
                if let Some(d) = &description {
                    schema["description"] = json!(d);
                }
                self.taken.push(name.clone());
                self.created.push((name.clone(), schema));
                self.enums.push(OpenEnum { name: name.clone(), values: values.to_vec(), description });
                return name;
            }
            n += 1;
        }
    }
}

fn string_enum_values(schema: &Value) -> Option<Vec<String>> {
    let map = schema.as_object()?;
    let values = map.get("enum")?.as_array()?;
    let ty = map.get("type").and_then(Value::as_str);
    if !matches!(ty, None | Some("string")) {
        return None;
    }
    let strings: Vec<String> = values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
    (!strings.is_empty()).then_some(strings)
}

fn description(schema: &Value) -> Option<String> {
    schema.get("description").and_then(Value::as_str).map(str::to_string)
}
