//! `pax8 demo on|off|status|reset`: the switch and what the saved state holds.

use super::session::now;
use crate::DemoCommand;
use crate::fail::Failure;
use crate::output::{Printer, text};
use serde_json::Value;

use crate::demo::{self, Settings};

pub(super) fn run(command: &DemoCommand, p: &Printer) -> Result<(), Failure> {
    match *command {
        DemoCommand::On { seed, companies } => {
            let today = now()?.date_naive();
            let settings = demo::settings()?.unwrap_or(Settings { seed, companies: companies as usize, today });
            let path = demo::turn_on(Settings { seed, companies: companies as usize, ..settings })?;
            let resumed = if demo::saved()?.is_some() { " (resuming the saved state)" } else { "" };
            p.note(&format!(
                "Demo mode is on{resumed}: every command now talks to a simulated Pax8 ({}). `pax8 demo off` leaves it.",
                path.display()
            ));
        }
        DemoCommand::Off { forget } => {
            let was_on = demo::turn_off(forget)?;
            let kept = if forget { "its state is deleted" } else { "its state is kept for the next `pax8 demo on`" };
            p.note(&if was_on { format!("Demo mode is off; {kept}.") } else { "Demo mode was not on.".to_string() });
        }
        DemoCommand::Reset => {
            let on = demo::settings()?.is_some();
            demo::forget_state()?;
            p.note("The demo's saved state is deleted: the next command starts from the fixture.");
            if !on {
                p.note("Demo mode is off (`pax8 demo on` turns it on).");
            }
        }
        DemoCommand::Status => {
            let settings = demo::settings()?;
            let counts = demo::saved()?.map(|s| s.counts());
            p.record(&[
                ("on", "Demo mode", Value::from(settings.is_some())),
                ("seed", "Seed", settings.map(|s| s.seed).into()),
                ("companies_in_fixture", "Fixture companies", settings.map(|s| s.companies).into()),
                ("today", "Fixture today", text(settings.map(|s| s.today))),
                ("saved_companies", "Saved companies", counts.map(|c| c.0).into()),
                ("saved_subscriptions", "Saved subscriptions", counts.map(|c| c.1).into()),
                ("saved_orders", "Saved orders", counts.map(|c| c.2).into()),
            ]);
        }
    }
    Ok(())
}
