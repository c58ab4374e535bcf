//! `pax8 orders`: list, show, and create (previewed by a server dry run, confirmed, settled when its
//! answer is lost).

use super::*;

pub(super) async fn run(s: &Session, command: OrdersCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        OrdersCommand::List { paging, company } => {
            let company_id = match &company {
                Some(c) => Some(crate::fail::id_of(resolve::company(client, c).await?.id, "company")?),
                None => None,
            };
            let paginator = client.orders().list_with(move |q| match company_id {
                Some(id) => q.company_id(id),
                None => q,
            });
            let (items, listed) = list(paginator, paging, p, "orders").await?;
            let names = company_names(client, p, items.iter().map(|o| Some(o.company_id))).await;
            let mut t = Table::new(&[
                col("id", "ID"),
                col("company_id", "COMPANY"),
                col("created", "CREATED"),
                col("status", "STATUS"),
                col("line_items", "LINES"),
            ]);
            // `--json` prints the summaries (the names the MCP tools use).
            t.documents =
                Some(items.iter().map(|o| serde_json::to_value(OrderSummary::from(o)).unwrap_or_default()).collect());
            for o in items {
                t.push(vec![
                    text(o.id),
                    text(Some(o.company_id)),
                    text(o.created_date),
                    text(o.status),
                    Value::from(o.line_items.len()),
                ]);
            }
            t.name_companies(&names);
            listed.apply(&mut t);
            p.table(&t);
        }
        OrdersCommand::Show { order } => {
            let o = client.orders().get(resolve::id("order", &order)?).await?;
            let mut t = Table::new(&[
                col("product_id", "PRODUCT"),
                col("quantity", "QTY"),
                col("term", "TERM"),
                col("subscription_id", "SUBSCRIPTION"),
            ]);
            for li in &o.line_items {
                t.push(vec![
                    text(Some(li.product_id)),
                    Value::from(li.quantity as i64),
                    text(li.billing_term.as_ref()),
                    text(li.subscription_id),
                ]);
            }
            t.footer = Some(format!(
                "order {} for {} ({})",
                o.id.map(|i| i.to_string()).unwrap_or_default(),
                o.company_id,
                o.status.as_deref().unwrap_or("-")
            ));
            p.table(&t);
        }
        OrdersCommand::Create { company, product: input, quantity, term, yes } => {
            let c = resolve::company(client, &company).await?;
            let prod = product(client, &input).await?;
            let (company_id, product_id) =
                (crate::fail::id_of(c.id, "company")?, crate::fail::id_of(prod.id, "product")?);
            let commitment = commitment_term(client, &prod, &term).await?;
            let order = NewOrder::for_company(company_id).line(product_id, quantity, &term, commitment).build();
            client.orders().create(order.clone()).mock(true).send().await?; // the server validates, creates nothing
            let pricing = client.products().pricing(product_id, Some(company_id)).await?;
            let rate = pax8_ext::insights::rate_for(&pricing, &term, f64::from(quantity));
            let unit = decimal_amount(rate.and_then(|r| r.partner_buy_rate));
            let retail = decimal_amount(rate.and_then(|r| r.suggested_retail_price));
            let months = pax8_ext::insights::months_for_term(&term);
            let total = unit * Decimal::from(quantity);
            let preview = [
                ("company", "Company", Value::from(c.name.clone())),
                ("product", "Product", text(prod.name.as_ref())),
                ("quantity", "Quantity", Value::from(quantity)),
                ("term", "Term", Value::from(term.clone())),
                ("unit_price", "Unit price (partner)", money(unit)),
                ("total", "Total per term", money(total)),
                ("monthly_cost", "Monthly cost impact", money(per_month(unit, Decimal::from(quantity), months))),
                (
                    "monthly_revenue",
                    "Monthly revenue (retail)",
                    money(per_month(retail, Decimal::from(quantity), months)),
                ),
                ("validated", "Validated by a dry run", Value::from(true)),
            ];
            let preview_json: serde_json::Map<String, Value> =
                preview.iter().map(|(k, _, v)| ((*k).to_string(), v.clone())).collect();
            // `--json` prints one document after the outcome: the preview and the placed order.
            let json = p.format == Format::Json;
            if !json {
                p.record(&preview);
            }
            if let Err(refused) = confirm("Place this order?", yes) {
                if json {
                    p.document(&serde_json::json!({"preview": preview_json, "placed": false}));
                }
                return Err(refused);
            }
            let attempt = pax8_ext::Timestamp::from(chrono::Utc::now());
            match client.orders().create(order.clone()).send().await {
                Ok(placed) => {
                    p.document(&serde_json::json!({"preview": preview_json, "placed": true,
                        "order": OrderSummary::from(&placed)}));
                    p.note(&format!("Order {} placed.", placed.id.map(|i| i.to_string()).unwrap_or_default()))
                }
                Err(pax8_ext::Error::AnswerUnreadable { id, .. }) => {
                    p.document(&serde_json::json!({"preview": preview_json, "placed": true, "order_id": id,
                        "note": "the answer could not be read"}));
                    p.note(&format!(
                        "Order {} placed (its answer could not be read).",
                        id.unwrap_or_else(|| "(id unknown)".into())
                    ))
                }
                Err(e) if e.is_outcome_unknown() => {
                    let check = format!("pax8 orders list --company {company_id}");
                    let found = client.orders().find_recent_matching(&order, attempt).await;
                    match found.as_deref() {
                        Ok([one]) => {
                            p.document(&serde_json::json!({"preview": preview_json, "placed": true,
                                "order": OrderSummary::from(one), "note": "the answer was lost; the order was found"}));
                            p.note(&format!(
                                "The answer was lost, but order {} was created: do not order again.",
                                one.id.map(|i| i.to_string()).unwrap_or_default()
                            ))
                        }
                        other => {
                            let seen = match other {
                                Ok([]) => "no matching order was found yet".to_string(),
                                Ok(matches) => format!("{} matching orders exist", matches.len()),
                                Err(lookup) => lookup.to_string(),
                            };
                            return Err(Failure {
                                message: format!(
                                    "{e}\n  could not tell whether the order was placed ({seen}): check with `{check}` before retrying"
                                ),
                                code: crate::fail::code::UNSETTLED,
                            });
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
