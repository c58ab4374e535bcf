//! Turns every generated request builder into a value pax8-ext can drive.
//!
//! progenitor emits one `send()` per builder that builds the request, runs the client hooks and
//! decodes the answer in one body. This pass splits that body in two and moves the halves into
//! an `impl crate::Endpoint` beside the builder:
//!
//! - `into_request(self)`: everything up to the built `reqwest::Request` (parameter validation,
//!   URL, query, headers, body);
//! - `decode_response(response)`: the status `match` that decodes a complete response;
//! - `decode_body(status, body)`: the same `match` over a body already read, each arm rewritten
//!   from progenitor's response reader to a decode of the bytes (JSON, empty, a stream of them)
//!   or the reason there is no value (a status the document declares an error, or none).
//!
//! `send()` becomes a plain composition of the two around progenitor's hooks, so a builder used
//! without pax8-ext still behaves as a plain progenitor client. For list operations (a `page`
//! query parameter and a `content` array in the answer) it also emits `impl crate::Paged` with
//! the paging facts read from the document: first page, page size limits, the setters, and where
//! the answer keeps its items and counters.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::error::{GenError, Result};
use crate::pointer::{operation_pointer, operations};

/// The paging facts of one list operation, as read from its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagingFacts {
    /// Query parameter of the page number.
    pub page_param: String,
    /// Query parameter of the page size (`size`, or `limit` in quoting).
    pub size_param: String,
    /// The page number the document gives as the first (the parameter's default or minimum).
    pub first_page: u32,
    /// The largest page size the document allows.
    pub max_size: u32,
    /// The page size the server uses when none is asked for.
    pub default_size: u32,
    /// Rust type name (in `types`) of one item.
    pub item_type: String,
    /// Where the counters live: `Some(field)` for a nested page object, `None` for the top level.
    pub page_field: Option<Field>,
    /// `number`, `totalPages`, `totalElements`, each with its requiredness.
    pub counters: [Option<Field>; 3],
}

/// A property of a response schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// JSON name.
    pub name: String,
    /// Whether the schema requires it (typify makes optional properties `Option`).
    pub required: bool,
}

/// Resolves a local `$ref` (and a single-entry `allOf` wrapping one).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..8 {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str)
            && let Some(target) = r.strip_prefix('#').and_then(|p| doc.pointer(p))
        {
            schema = target;
            continue;
        }
        if let Some([only]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            schema = only;
            continue;
        }
        break;
    }
    schema
}

fn is_required(schema: &Value, name: &str) -> bool {
    schema.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|v| v == name))
}

fn field(schema: &Value, name: &str) -> Option<Field> {
    schema
        .pointer(&format!("/properties/{name}"))
        .map(|_| Field { name: name.into(), required: is_required(schema, name) })
}

fn int_of(schema: Option<&Value>, key: &str) -> Option<u32> {
    schema.and_then(|s| s.get(key)).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok())
}

/// The paging facts of the operation at `path`/`method`, if it is a list operation.
pub fn paging_facts(doc: &Value, path: &str, method: &str) -> Result<Option<PagingFacts>> {
    let op = operation_pointer(path, method);
    let Some(params) = doc.pointer(&format!("{op}/parameters")).and_then(Value::as_array) else {
        return Ok(None);
    };
    let query = |name: &str| {
        params.iter().find(|p| p.get("in") == Some(&Value::from("query")) && p.get("name") == Some(&Value::from(name)))
    };
    let Some(page) = query("page") else { return Ok(None) };
    let Some((size_param, size)) = query("size").map(|p| ("size", p)).or_else(|| query("limit").map(|p| ("limit", p)))
    else {
        return Ok(None);
    };
    let Some(body) = doc.pointer(&format!("{op}/responses/200/content/application~1json/schema")) else {
        return Ok(None);
    };
    let body = resolve(doc, body);
    let Some(items) = body.pointer("/properties/content/items") else { return Ok(None) };
    let invalid = |why: String| GenError::Generate { document: format!("{method} {path}"), reason: why };
    let item_type = items
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(|name| name.to_upper_camel_case())
        .ok_or_else(|| invalid("a paged `content` must hold `$ref` items".into()))?;
    let page_schema = page.get("schema");
    let size_schema = size.get("schema");
    let max_size = int_of(size_schema, "maximum")
        .ok_or_else(|| invalid(format!("the `{size_param}` parameter declares no maximum (add one in a patch)")))?;
    let (page_field, counters_schema) = match field(body, "page") {
        Some(f) => {
            let nested = body.pointer("/properties/page").map(|s| resolve(doc, s)).unwrap_or(&Value::Null);
            (Some(f), nested)
        }
        None => (None, body),
    };
    Ok(Some(PagingFacts {
        page_param: "page".into(),
        size_param: size_param.into(),
        first_page: int_of(page_schema, "default").or_else(|| int_of(page_schema, "minimum")).unwrap_or(0),
        max_size,
        default_size: int_of(size_schema, "default").unwrap_or(max_size).min(max_size),
        item_type,
        page_field,
        counters: [
            field(counters_schema, "number"),
            field(counters_schema, "totalPages"),
            field(counters_schema, "totalElements"),
        ],
    }))
}

/// What the pass needs to know of one operation.
struct OperationRow {
    index: usize,
    rust: String,
    paging: Option<PagingFacts>,
}

/// Rewrites the `builder` module of a generated file (see the module docs).
pub fn rewrite(file: &mut syn::File, doc: &Value, module: &str) -> Result<()> {
    let api = format_ident!("{}", module.to_upper_camel_case());
    let mut rows = Vec::new();
    for (index, (path, method)) in operations(doc).into_iter().enumerate() {
        let id = doc
            .pointer(&format!("{}/operationId", operation_pointer(&path, &method)))
            .and_then(Value::as_str)
            .unwrap_or_default();
        rows.push(OperationRow { index, rust: id.to_snake_case(), paging: paging_facts(doc, &path, &method)? });
    }
    let fail = |reason: String| GenError::Generate { document: module.to_string(), reason };
    let builder = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_mut(),
            _ => None,
        })
        .ok_or_else(|| fail("no `builder` module".into()))?;
    let mut added = Vec::new();
    let mut seen = 0usize;
    for item in &mut builder.1 {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let self_ty = imp.self_ty.clone();
        let Some(send) = imp.items.iter_mut().find_map(|i| match i {
            syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
            _ => None,
        }) else {
            continue;
        };
        let split = split_send(send).map_err(|why| fail(format!("{}: {why}", quote!(#self_ty))))?;
        let row = rows
            .iter()
            .find(|r| r.rust == split.operation_id)
            .ok_or_else(|| fail(format!("builder for unknown operation `{}`", split.operation_id)))?;
        seen += 1;
        let (index, output, error) = (row.index, &split.output, &split.error);
        let (build, decode) = (&split.build, &split.decode);
        let body_decoder = body_decoder(&split.decode).map_err(|why| fail(format!("{}: {why}", quote!(#self_ty))))?;
        added.push(quote! {
            impl<'a> crate::Endpoint for #self_ty {
                type Output = #output;
                type ErrorBody = #error;
                const API: crate::Api = crate::Api::#api;
                const OPERATION: crate::Operation = super::OPERATIONS[#index];
                fn into_request(self) -> Result<reqwest::Request, Error<#error>> {
                    #(#build)*
                    Ok(request)
                }
                async fn decode_response(response: reqwest::Response) -> Result<ResponseValue<#output>, Error<#error>> {
                    #(#decode)*
                }
                #[allow(unused_variables)]
                fn decode_body(status: u16, body: &[u8]) -> Result<#output, crate::DecodeError> {
                    #body_decoder
                }
            }
        });
        if let Some(paging) = &row.paging {
            added.push(paged_impl(&self_ty, paging));
        }
    }
    if seen != rows.len() {
        return Err(fail(format!("{} operations but {seen} builders with `send`", rows.len())));
    }
    for tokens in added {
        builder.1.push(syn::parse2(tokens).map_err(|e| fail(format!("generated impl does not parse: {e}")))?);
    }
    Ok(())
}

fn paged_impl(self_ty: &syn::Type, p: &PagingFacts) -> TokenStream {
    let item = format_ident!("{}", p.item_type);
    let page_setter = format_ident!("{}", p.page_param.to_snake_case());
    let size_setter = format_ident!("{}", p.size_param.to_snake_case());
    let (first, max, default) = (p.first_page, p.max_size, p.default_size);
    let (page_param, size_param) = (&p.page_param, &p.size_param);
    // `holder` is where the counters live: the page object (maybe optional) or the body itself.
    let holder = match &p.page_field {
        Some(f) => {
            let name = format_ident!("{}", f.name.to_snake_case());
            if f.required { quote!(Some(&output.#name)) } else { quote!(output.#name.as_ref()) }
        }
        None => quote!(Some(&output)),
    };
    let counter = |f: &Option<Field>| match f {
        None => quote!(None),
        Some(f) => {
            let name = format_ident!("{}", f.name.to_snake_case());
            if f.required {
                quote!(holder.and_then(|h| u64::try_from(h.#name).ok()))
            } else {
                quote!(holder.and_then(|h| h.#name).and_then(|n| u64::try_from(n).ok()))
            }
        }
    };
    let [number, total_pages, total_elements] =
        [counter(&p.counters[0]), counter(&p.counters[1]), counter(&p.counters[2])];
    quote! {
        impl<'a> crate::Paged for #self_ty {
            type Item = types::#item;
            const PAGING: crate::Paging = crate::Paging {
                page_param: #page_param,
                size_param: #size_param,
                first_page: #first,
                max_size: #max,
                default_size: #default,
            };
            fn with_page(self, number: u32) -> Self {
                self.#page_setter(number)
            }
            fn with_size(self, size: u32) -> Self {
                self.#size_setter(size)
            }
            fn into_parts(output: Self::Output) -> crate::PageParts<Self::Item> {
                let holder = #holder;
                let number = #number;
                let total_pages = #total_pages;
                let total_elements = #total_elements;
                crate::PageParts { items: output.content, number, total_pages, total_elements }
            }
        }
    }
}

/// The body of `decode_body`: progenitor's status `match` (the last statement of the decoding
/// half) with each arm's response reader replaced by what it means for bytes already read.
fn body_decoder(decode: &[syn::Stmt]) -> std::result::Result<TokenStream, String> {
    let found = decode.iter().rev().find_map(|stmt| match stmt {
        syn::Stmt::Expr(syn::Expr::Match(m), _) => Some(m),
        _ => None,
    });
    let decoding = found.ok_or("the decoding half has no status `match`")?;
    // Arms that decode alike share one arm (`400u16 | 401u16 | … => …`), in first-seen order.
    let mut arms: Vec<(String, Vec<&syn::Pat>, TokenStream)> = Vec::new();
    for arm in &decoding.arms {
        let body = &arm.body;
        let text = quote!(#body).to_string().replace(' ', "");
        let value = if text.contains("Error::ErrorResponse") {
            quote!(Err(crate::DecodeError::ErrorStatus(status)))
        } else if text.contains("Error::UnexpectedResponse") {
            quote!(Err(crate::DecodeError::Undeclared(status)))
        } else if text.contains("ResponseValue::from_response(response)") {
            quote!(serde_json::from_slice(body).map_err(crate::DecodeError::Json))
        } else if text.contains("ResponseValue::empty(response)") {
            quote!(Ok(()))
        } else if text.contains("ResponseValue::stream(response)") {
            quote!(Ok(crate::byte_stream_of(body)))
        } else {
            return Err(format!("a status arm this pass does not know: {text}"));
        };
        let key = value.to_string();
        // The catch-all stays last and alone.
        let wild = matches!(arm.pat, syn::Pat::Wild(_));
        match arms.iter_mut().find(|(k, pats, _)| !wild && *k == key && !matches!(pats[0], syn::Pat::Wild(_))) {
            Some((_, pats, _)) => pats.push(&arm.pat),
            None => arms.push((key, vec![&arm.pat], value)),
        }
    }
    let arms = arms.iter().map(|(_, pats, value)| quote!(#(#pats)|* => #value,));
    Ok(quote! {
        match status {
            #(#arms)*
        }
    })
}

/// The two halves of one generated `send()`.
struct Split {
    operation_id: String,
    output: syn::Type,
    error: syn::Type,
    build: Vec<syn::Stmt>,
    decode: Vec<syn::Stmt>,
}

fn local_named(stmt: &syn::Stmt, name: &str) -> bool {
    matches!(stmt, syn::Stmt::Local(l) if matches!(&l.pat, syn::Pat::Ident(p) if p.ident == name))
}

/// The generic arguments of the last segment of a path type (`Result<A, B>` → `[A, B]`).
fn type_args(ty: &syn::Type) -> Vec<syn::Type> {
    let syn::Type::Path(p) = ty else { return Vec::new() };
    let Some(last) = p.path.segments.last() else { return Vec::new() };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return Vec::new() };
    args.args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// Splits `send`'s body and replaces it with a composition of the two halves.
fn split_send(send: &mut syn::ImplItemFn) -> std::result::Result<Split, String> {
    let syn::ReturnType::Type(_, ret) = &send.sig.output else { return Err("send returns nothing".into()) };
    let [ok, err] = <[syn::Type; 2]>::try_from(type_args(ret)).map_err(|_| "send does not return Result<_, _>")?;
    let [output] = <[syn::Type; 1]>::try_from(type_args(&ok)).map_err(|_| "send's Ok is not ResponseValue<T>")?;
    let [error] = <[syn::Type; 1]>::try_from(type_args(&err)).map_err(|_| "send's Err is not Error<E>")?;
    let stmts = &send.block.stmts;
    let info_at = stmts.iter().position(|s| local_named(s, "info")).ok_or("no `let info`")?;
    let response_at = stmts.iter().position(|s| local_named(s, "response")).ok_or("no `let response`")?;
    let info = &stmts[info_at];
    let operation_id =
        quote!(#info).to_string().split('"').nth(1).map(str::to_string).ok_or("no operation id in `let info`")?;
    let build = stmts[..info_at].to_vec();
    let decode = stmts[response_at + 1..].to_vec();
    let info = info.clone();
    send.block = syn::parse2(quote! {{
        let client = self.client;
        #[allow(unused_mut)]
        let mut request = crate::Endpoint::into_request(self)?;
        #info
        client.pre(&mut request, &info).await?;
        let result = client.exec(request, &info).await;
        client.post(&result, &info).await?;
        let response = result?;
        <Self as crate::Endpoint>::decode_response(response).await
    }})
    .map_err(|e| format!("new send body: {e}"))?;
    Ok(Split { operation_id, output, error, build, decode })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(size_max: Option<u64>, page_required: bool) -> Value {
        let mut size = json!({"type": "integer", "default": 10});
        if let Some(max) = size_max {
            size["maximum"] = json!(max);
        }
        json!({
            "paths": {"/things": {"get": {
                "operationId": "findThings",
                "parameters": [
                    {"in": "query", "name": "page", "schema": {"type": "integer", "default": 1}},
                    {"in": "query", "name": "limit", "schema": size},
                ],
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Things"}}}}}
            }}},
            "components": {"schemas": {
                "Things": {
                    "type": "object",
                    "required": if page_required { json!(["content", "page"]) } else { json!(["content"]) },
                    "properties": {
                        "content": {"type": "array", "items": {"$ref": "#/components/schemas/thing"}},
                        "page": {"allOf": [{"$ref": "#/components/schemas/PageInfo"}]}
                    }
                },
                "PageInfo": {"type": "object", "required": ["number"], "properties": {
                    "number": {"type": "integer"}, "totalPages": {"type": "integer"}
                }}
            }}
        })
    }

    #[test]
    fn paging_facts_come_from_the_document() {
        let facts = paging_facts(&doc(Some(50), true), "/things", "get").unwrap().expect("a list operation");
        assert_eq!(facts.size_param, "limit");
        assert_eq!((facts.first_page, facts.max_size, facts.default_size), (1, 50, 10));
        assert_eq!(facts.item_type, "Thing");
        assert_eq!(facts.page_field, Some(Field { name: "page".into(), required: true }));
        assert_eq!(facts.counters[0], Some(Field { name: "number".into(), required: true }));
        assert_eq!(facts.counters[1], Some(Field { name: "totalPages".into(), required: false }));
        assert_eq!(facts.counters[2], None);
        let optional = paging_facts(&doc(Some(50), false), "/things", "get").unwrap().unwrap();
        assert_eq!(optional.page_field, Some(Field { name: "page".into(), required: false }));
    }

    #[test]
    fn a_list_without_a_maximum_size_is_an_error() {
        let err = paging_facts(&doc(None, true), "/things", "get").unwrap_err().to_string();
        assert!(err.contains("no maximum"), "{err}");
    }

    #[test]
    fn operations_without_paging_have_no_facts() {
        let mut d = doc(Some(5), true);
        d["paths"]["/things"]["get"]["parameters"] = json!([]);
        assert_eq!(paging_facts(&d, "/things", "get").unwrap(), None);
    }

    #[test]
    fn send_is_split_into_request_and_decoding() {
        let mut f: syn::ImplItemFn = syn::parse2(quote! {
            pub async fn send(self) -> Result<ResponseValue<types::Thing>, Error<crate::ErrorBody>> {
                let Self { client, id } = self;
                let id = id.map_err(Error::InvalidRequest)?;
                let mut request = client.client.get(url).build()?;
                let info = OperationInfo { operation_id: "find_thing" };
                client.pre(&mut request, &info).await?;
                let result = client.exec(request, &info).await;
                client.post(&result, &info).await?;
                let response = result?;
                match response.status().as_u16() { 200u16 => ResponseValue::from_response(response).await, _ => todo!() }
            }
        })
        .unwrap();
        let split = split_send(&mut f).unwrap();
        assert_eq!(split.operation_id, "find_thing");
        assert_eq!(split.build.len(), 3);
        assert_eq!(split.decode.len(), 1);
        let output = &split.output;
        assert_eq!(quote!(#output).to_string(), "types :: Thing");
        let body = quote!(#f).to_string();
        assert!(body.contains("crate :: Endpoint :: into_request (self)"), "{body}");
        assert!(body.contains("decode_response (response)"), "{body}");
    }

    #[test]
    fn each_status_arm_decodes_bytes_already_read() {
        let decode: syn::Stmt = syn::parse2(quote! {
            match response.status().as_u16() {
                200u16 => ResponseValue::from_response(response).await,
                204u16 => Ok(ResponseValue::empty(response)),
                206u16 => Ok(ResponseValue::stream(response)),
                404u16 => Err(Error::ErrorResponse(ResponseValue::from_response(response).await?)),
                201u16 => ResponseValue::from_response(response).await,
                409u16 => Err(Error::ErrorResponse(ResponseValue::from_response(response).await?)),
                _ => Err(Error::UnexpectedResponse(response)),
            }
        })
        .unwrap();
        let body = body_decoder(&[decode]).unwrap().to_string().replace(' ', "");
        for arm in [
            "200u16|201u16=>serde_json::from_slice(body).map_err(crate::DecodeError::Json),",
            "204u16=>Ok(()),",
            "206u16=>Ok(crate::byte_stream_of(body)),",
            "404u16|409u16=>Err(crate::DecodeError::ErrorStatus(status)),",
            "_=>Err(crate::DecodeError::Undeclared(status)),",
        ] {
            assert!(body.contains(arm), "{arm} in {body}");
        }
        assert!(body.starts_with("matchstatus{"), "{body}");
        let unknown: syn::Stmt =
            syn::parse2(quote! { match response.status().as_u16() { 200u16 => something_else(response) } }).unwrap();
        assert!(body_decoder(&[unknown]).unwrap_err().contains("does not know"));
        assert!(body_decoder(&[]).is_err(), "no match, no decoder");
    }
}
