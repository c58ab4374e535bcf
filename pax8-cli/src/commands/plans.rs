//! `pax8 renewals plan|pending|cancel|run`: changes kept in the mirror database until a
//! commitment's end (pax8-sync's `plans`), each applied exactly once.

use pax8_sync::Store;
use pax8_sync::plans::{Plan, PlanAction, RunReport, run_due};
use serde_json::Value;

use super::confirm::confirm;
use super::listing::count;
use super::session::{Session, now};
use crate::fail::Failure;
use crate::output::{Printer, Table, col, text};
use crate::{PlanStore, RenewalsCommand, resolve};

/// A refusal of the store is the user's to fix (exit 2); the database failing is not.
fn failure(e: pax8_sync::SyncError) -> Failure {
    match e {
        pax8_sync::SyncError::Invalid(why) => Failure::usage(why),
        pax8_sync::SyncError::Api(api) => Failure::from(api),
        other => Failure { message: other.to_string(), code: crate::fail::code::API },
    }
}

async fn open(store: &PlanStore) -> Result<Store, Failure> {
    Store::open(&store.db).await.map_err(failure)
}

fn action(plan: &Plan) -> String {
    match &plan.action {
        PlanAction::Quantity { quantity } => {
            format!("quantity {} → {quantity}", plan.basis.quantity.map_or_else(|| "?".into(), |q| q.to_string()))
        }
        PlanAction::Term { billing_term } => format!("term → {billing_term}"),
        PlanAction::Cancel => "cancel".into(),
    }
}

fn table(plans: &[(&Plan, &str)]) -> Table {
    let mut t = Table::new(&[
        col("id", "PLAN"),
        col("due", "DUE"),
        col("subscription_id", "SUBSCRIPTION"),
        col("action", "CHANGE"),
        col("state", "STATE"),
        col("reason", "REASON"),
    ]);
    for (plan, state) in plans {
        t.push(vec![
            text(Some(plan.id)),
            Value::from(plan.due.clone()),
            text(Some(plan.subscription_id)),
            Value::from(action(plan)),
            // An applied plan that a sync or a webhook since showed done says so.
            Value::from(match &plan.confirmed_by {
                Some(by) => format!("{state}, confirmed by {by}"),
                None => (*state).to_string(),
            }),
            text(plan.reason.as_ref()),
        ]);
    }
    t.documents = Some(plans.iter().map(|(p, _)| serde_json::to_value(p).unwrap_or(Value::Null)).collect());
    t
}

/// The commands that need only the database.
pub(super) async fn local(command: RenewalsCommand, printer: &Printer) -> Result<(), Failure> {
    match command {
        RenewalsCommand::Pending { all, store } => {
            let plans = open(&store).await?.plans(&store.tenant, all).await.map_err(failure)?;
            let rows: Vec<(&Plan, &str)> = plans.iter().map(|p| (p, p.state.as_str())).collect();
            let mut t = table(&rows);
            t.footer = Some(format!("{} for tenant {}", count(plans.len(), "plans"), store.tenant));
            printer.table(&t);
        }
        RenewalsCommand::Cancel { plan, store } => {
            let id = resolve::id("plan", &plan)?;
            let cancelled = open(&store).await?.cancel_plan(id).await.map_err(failure)?;
            printer.document(&serde_json::to_value(&cancelled).unwrap_or(Value::Null));
            printer.note(&format!("Plan {id} cancelled: nothing will be applied."));
        }
        _ => return Err(Failure::usage("this renewals command needs Pax8 credentials")),
    }
    Ok(())
}

/// The commands that read or change subscriptions.
pub(super) async fn run(s: &Session, command: RenewalsCommand) -> Result<(), Failure> {
    match command {
        RenewalsCommand::Plan { subscription, quantity, cancel, term, on, store } => {
            let action = match (quantity, cancel, term) {
                (Some(quantity), _, _) => PlanAction::Quantity { quantity },
                (_, true, _) => PlanAction::Cancel,
                (_, _, Some(billing_term)) => PlanAction::Term { billing_term },
                _ => return Err(Failure::usage("say what to plan: --quantity N, --cancel or --term T")),
            };
            let on = on.as_deref().map(resolve::date).transpose()?;
            let id = resolve::id("subscription", &subscription)?;
            let sub = s.client.subscriptions().get(id).await?;
            let db = open(&store).await?;
            let plan = db.make_plan(&store.tenant, &sub, action, on, now()?.date_naive()).await.map_err(failure)?;
            s.printer.document(&serde_json::to_value(&plan).unwrap_or(Value::Null));
            s.printer.note(&format!(
                "Planned {} for {} (plan {}): `pax8 renewals run` applies it from that day.",
                action_words(&plan),
                plan.due,
                plan.id
            ));
        }
        RenewalsCommand::Run { as_of, lease, yes, store } => {
            let now = now()?;
            let as_of = match as_of.as_deref() {
                Some(day) => resolve::date(day)?,
                None => now.date_naive(),
            };
            // Changes are judged (the commitment rules) at the later of now and the day's start.
            let judged = as_of.and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc().max(now));
            let lease = resolve::interval(&lease)?;
            let db = open(&store).await?;
            let due: Vec<Plan> = db
                .plans(&store.tenant, false)
                .await
                .map_err(failure)?
                .into_iter()
                .filter(|p| p.state == "pending" && p.due.as_str() <= as_of.to_string().as_str())
                .collect();
            if due.is_empty() {
                s.printer.document(&serde_json::to_value(RunReport::default()).unwrap_or(Value::Null));
                s.printer.note(&format!("Nothing due on {as_of}."));
            } else {
                let rows: Vec<(&Plan, &str)> = due.iter().map(|p| (p, "due")).collect();
                if s.printer.format != crate::output::Format::Json {
                    s.printer.table(&table(&rows));
                }
                confirm(&format!("Apply {} now?", count(due.len(), "plans")), yes)?;
            }
            let report = run_due(&db, &s.client, &store.tenant, as_of, judged, lease).await.map_err(failure)?;
            print_report(&s.printer, &report);
            if !report.failed.is_empty() {
                return Err(Failure {
                    message: format!("{} failed (see above)", count(report.failed.len(), "plans")),
                    code: crate::fail::code::API,
                });
            }
        }
        local_only => return local(local_only, &s.printer).await,
    }
    Ok(())
}

fn action_words(plan: &Plan) -> String {
    match &plan.action {
        PlanAction::Quantity { quantity } => format!("quantity {quantity}"),
        PlanAction::Term { billing_term } => format!("billing term {billing_term}"),
        PlanAction::Cancel => "a cancellation".into(),
    }
}

fn print_report(printer: &Printer, report: &RunReport) {
    let mut rows: Vec<(&Plan, &str)> = Vec::new();
    rows.extend(report.applied.iter().map(|p| (p, "applied")));
    rows.extend(report.settled.iter().map(|p| (p, "settled")));
    rows.extend(report.held.iter().map(|p| (p, "held")));
    rows.extend(report.failed.iter().map(|p| (p, "failed")));
    if printer.format == crate::output::Format::Json {
        printer.document(&serde_json::to_value(report).unwrap_or(Value::Null));
        return;
    }
    let mut t = table(&rows);
    t.footer = Some(format!(
        "{} applied, {} found applied after an interrupted run, {} held, {} failed",
        report.applied.len(),
        report.settled.len(),
        report.held.len(),
        report.failed.len()
    ));
    printer.table(&t);
}
