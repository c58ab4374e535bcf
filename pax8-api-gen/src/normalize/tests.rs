//! The rules' tests.

use super::*;
use crate::error::GenError;
use crate::report::DocReport;
use serde_json::{Value, json};

fn doc_with_op(op: Value) -> Value {
    json!({"openapi": "3.0.1", "info": {"title": "t", "version": "1"}, "paths": {"/things/{thingId}": {"get": op}}})
}

#[test]
fn downgrade_rewrites_31_constructs() {
    let mut doc = json!({
        "openapi": "3.1.0",
        "webhooks": {},
        "components": {"schemas": {"A": {
            "type": "object",
            "properties": {
                "n": {"type": ["string", "null"], "examples": ["x", "y"]},
                "c": {"const": "fixed"},
                "m": {"type": "integer", "exclusiveMinimum": 0},
                "const": {"type": "string"}
            }
        }}}
    });
    let mut report = DocReport::default();
    downgrade_to_30(&mut doc, &mut report).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc.get("webhooks").is_none());
    let props = &doc["components"]["schemas"]["A"]["properties"];
    assert_eq!(props["n"], json!({"type": "string", "nullable": true, "example": "x"}));
    assert_eq!(props["c"], json!({"enum": ["fixed"]}));
    assert_eq!(props["m"], json!({"type": "integer", "exclusiveMinimum": true, "minimum": 0}));
    assert_eq!(props["const"], json!({"type": "string"}), "a property named `const` is not a keyword");
    assert!(report.changes().iter().any(|c| c.pointer == "/components/schemas/A/properties/n/type"));
}

#[test]
fn downgrade_leaves_30_documents_alone() {
    let mut doc = json!({"openapi": "3.0.1", "components": {"schemas": {"A": {"const": 1}}}});
    let before = doc.clone();
    downgrade_to_30(&mut doc, &mut DocReport::default()).unwrap();
    assert_eq!(doc, before);
}

#[test]
fn derived_ids_follow_method_and_path() {
    assert_eq!(derived_operation_id("get", "/companies/{companyId}"), "getCompaniesByCompanyId");
    assert_eq!(
        derived_operation_id("delete", "/companies/{companyId}/contacts/{contactId}"),
        "deleteCompaniesByCompanyIdContactsByContactId"
    );
    assert_eq!(
        derived_operation_id("get", "/products/{productId}/provision-details"),
        "getProductsByProductIdProvisionDetails"
    );
}

#[test]
fn missing_ids_are_filled_existing_kept() {
    let mut doc = json!({"paths": {
        "/a": {"get": {"operationId": "listA"}, "post": {}},
    }});
    let mut report = DocReport::default();
    fill_operation_ids("d", &mut doc, &mut report).unwrap();
    assert_eq!(doc["paths"]["/a"]["get"]["operationId"], "listA");
    assert_eq!(doc["paths"]["/a"]["post"]["operationId"], "postA");
    assert_eq!(report.changes().len(), 1);
}

#[test]
fn duplicate_operation_ids_are_an_error_naming_both_operations() {
    let mut doc = json!({"paths": {
        "/a": {"get": {"operationId": "same"}},
        "/b": {"get": {"operationId": "Same"}}
    }});
    let err = fill_operation_ids("doc", &mut doc, &mut DocReport::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, GenError::DuplicateOperationId { .. }));
    assert!(msg.contains("GET /a") && msg.contains("GET /b") && msg.contains("doc"), "{msg}");
}

#[test]
fn content_types_are_normalized() {
    let mut doc = json!({"paths": {"/x": {
        "get": {"responses": {
            "200": {"content": {"application/json": {"schema": {"type": "object"}}, "application/pdf": {}}},
            "204": {"content": {"*/*": {"schema": {"type": "object"}}}},
            "400": {"content": {"*/*": {"schema": {"$ref": "#/components/schemas/E"}}}}
        }},
        "post": {"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}, "responses": {
            "201": {"content": {"*/*": {"schema": {"type": "string"}}}},
            "202": {"content": {"*/*": {}}}
        }}
    }}});
    normalize_content_types(&mut doc, &mut DocReport::default()).unwrap();
    let get = &doc["paths"]["/x"]["get"]["responses"];
    assert_eq!(get["200"]["content"].as_object().unwrap().keys().collect::<Vec<_>>(), ["application/json"]);
    assert!(get["204"].get("content").is_none());
    assert!(get["400"]["content"]["application/json"]["schema"].is_object());
    let post = &doc["paths"]["/x"]["post"];
    assert_eq!(post["requestBody"]["content"]["application/octet-stream"]["schema"]["format"], "binary");
    assert!(post["responses"]["201"]["content"]["application/json"].is_object());
    assert!(post["responses"]["202"]["content"].as_object().unwrap().is_empty());
}

#[test]
fn paging_numbers_become_integers() {
    let mut doc = doc_with_op(json!({"parameters": [
        {"name": "size", "in": "query", "schema": {"type": "number", "default": 10, "maximum": 200}},
        {"name": "total", "in": "query", "schema": {"type": "number"}}
    ]}));
    integer_paging_params(&mut doc, &mut DocReport::default()).unwrap();
    let params = &doc["paths"]["/things/{thingId}"]["get"]["parameters"];
    assert_eq!(params[0]["schema"], json!({"type": "integer", "default": 10, "maximum": 200, "format": "int32"}));
    assert_eq!(params[1]["schema"]["type"], "number");
}

#[test]
fn non_string_enums_are_dropped() {
    let mut doc = json!({"components": {"schemas": {"T": {"properties": {
        "expires_in": {"type": "number", "enum": [86400]},
        "kind": {"type": "string", "enum": ["a"]}
    }}}}});
    drop_non_string_enums(&mut doc, &mut DocReport::default()).unwrap();
    assert!(doc["components"]["schemas"]["T"]["properties"]["expires_in"].get("enum").is_none());
    assert!(doc["components"]["schemas"]["T"]["properties"]["kind"].get("enum").is_some());
}

#[test]
fn error_responses_are_unified_and_completed() {
    let mut doc = doc_with_op(json!({"responses": {
        "200": {"description": "ok"},
        "401": {"description": "no", "content": {"application/json": {"examples": {}}}}
    }}));
    shared_error_responses("d", &mut doc, &mut DocReport::default()).unwrap();
    let responses = &doc["paths"]["/things/{thingId}"]["get"]["responses"];
    let reference = json!({"$ref": "#/components/schemas/Pax8Error"});
    assert_eq!(responses["401"]["content"]["application/json"]["schema"], reference);
    assert_eq!(responses["401"]["description"], "no");
    for status in ["429", "500", "502", "503", "504"] {
        assert_eq!(responses[status]["content"]["application/json"]["schema"], reference, "{status}");
    }
    assert!(responses["200"].get("content").is_none());
    assert!(doc["components"]["schemas"]["Pax8Error"]["properties"]["details"].is_object());
}

#[test]
fn error_schema_name_clash_is_an_error() {
    let mut doc = json!({"components": {"schemas": {"Pax8Error": {}}}, "paths": {}});
    assert!(shared_error_responses("d", &mut doc, &mut DocReport::default()).is_err());
}

#[test]
fn patterns_are_dropped() {
    let mut doc = json!({"components": {"schemas": {"A": {"type": "object", "properties": {
        "country": {"type": "string", "pattern": "^[A-Z]{2}$"}
    }}}}});
    drop_patterns(&mut doc, &mut DocReport::default()).unwrap();
    assert_eq!(doc["components"]["schemas"]["A"]["properties"]["country"], json!({"type": "string"}));
}

#[test]
fn required_names_without_property_are_dropped() {
    let mut doc = json!({"components": {"schemas": {
        "A": {"type": "object", "required": ["id", "ghost"], "properties": {"id": {"type": "string"}}},
        "B": {"allOf": [{"$ref": "#/components/schemas/A"}], "required": ["ghost"]}
    }}});
    let mut report = DocReport::default();
    drop_undeclared_required(&mut doc, &mut report).unwrap();
    assert_eq!(doc["components"]["schemas"]["A"]["required"], json!(["id"]));
    assert_eq!(doc["components"]["schemas"]["B"]["required"], json!(["ghost"]), "composed schemas are left alone");
    assert_eq!(report.changes().len(), 1);
}

#[test]
fn secret_properties_point_at_the_secret_schema() {
    let mut doc = json!({"paths": {}, "components": {"schemas": {"W": {"type": "object", "properties": {
        "authorization": {"type": "string", "description": "Bearer value"},
        "url": {"type": "string"}
    }}}}});
    secret_fields("d", &mut doc, &mut DocReport::default()).unwrap();
    let props = &doc["components"]["schemas"]["W"]["properties"];
    assert_eq!(props["authorization"], json!({"$ref": "#/components/schemas/Pax8Secret"}));
    assert_eq!(props["url"]["type"], "string");
    assert!(doc["components"]["schemas"]["Pax8Secret"].is_object());
}

#[test]
fn dates_become_lenient_types() {
    let mut doc = json!({
        "paths": {"/s": {"get": {"operationId": "find", "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}}
        ], "responses": {}}}},
        "components": {"schemas": {"T": {"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time", "description": "d"},
            "day": {"type": "string", "format": "yyyy-MM-dd"},
            "id": {"type": "string", "format": "uuid"},
            "gone": {"type": "string", "format": "date-time", "nullable": true}
        }}}}
    });
    lenient_dates("d", &mut doc, &mut DocReport::default()).unwrap();
    let props = &doc["components"]["schemas"]["T"]["properties"];
    assert_eq!(
        props["gone"],
        json!({"allOf": [{"$ref": "#/components/schemas/Pax8Timestamp"}], "nullable": true}),
        "a nullable date stays nullable"
    );
    assert_eq!(props["at"], json!({"$ref": "#/components/schemas/Pax8Timestamp"}));
    assert_eq!(props["day"], json!({"$ref": "#/components/schemas/Pax8Date"}));
    assert_eq!(props["id"]["format"], "uuid");
    assert_eq!(doc["paths"]["/s"]["get"]["parameters"][0]["schema"], json!({"$ref": "#/components/schemas/Pax8Date"}));
    assert_eq!(doc["components"]["schemas"]["Pax8Timestamp"], json!({"type": "string", "format": "date-time"}));
}

#[test]
fn string_enums_are_hoisted_named_by_context_and_deduplicated() {
    let mut doc = json!({
        "paths": {"/s": {"get": {"operationId": "findThings", "parameters": [
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["A", "B"]}}
        ], "responses": {}}}},
        "components": {"schemas": {
            "Kind": {"type": "string", "enum": ["x", "y"]},
            "Thing": {"type": "object", "properties": {
                "status": {"type": "string", "enum": ["A", "B"], "description": "d"},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["t"]}},
                "kind": {"$ref": "#/components/schemas/Kind"}
            }},
            "ThingStatus": {"type": "object"}
        }}
    });
    let enums = hoist_string_enums(&mut doc, &mut DocReport::default()).unwrap();
    let names: Vec<&str> = enums.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Kind", "ThingStatus2", "ThingTagsItem", "FindThingsStatus"]);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Thing"]["properties"]["status"], json!({"$ref": "#/components/schemas/ThingStatus2"}));
    assert_eq!(schemas["ThingStatus2"], json!({"type": "string", "enum": ["A", "B"], "description": "d"}));
    assert_eq!(schemas["ThingStatus"], json!({"type": "object"}), "existing names are not overwritten");
    assert_eq!(
        doc["paths"]["/s"]["get"]["parameters"][0]["schema"],
        json!({"$ref": "#/components/schemas/FindThingsStatus"})
    );
}
