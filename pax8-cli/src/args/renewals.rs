//! `pax8 renewals`: what renews soon, and plans for changes at a commitment's end.

use clap::{Args, Subcommand};

/// `pax8 renewals [--within 30d]`, or a plan command.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RenewalsArgs {
    /// Plans: changes kept in the mirror database and applied when due.
    #[command(subcommand)]
    pub command: Option<RenewalsCommand>,
    /// Window: 30d, 8w, 3mo (calendar months) or 1y.
    #[arg(long, default_value = "30d")]
    pub within: String,
}

/// The mirror database and tenant a plan command works on.
#[derive(Debug, Clone, Args)]
pub struct PlanStore {
    /// The mirror: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, default_value = "sqlite://pax8.db", env = "PAX8_DB")]
    pub db: String,
    /// Whose subscriptions these are (the credentials in use are this tenant's).
    #[arg(long, default_value = pax8_sync::DEFAULT_TENANT, env = "PAX8_TENANT")]
    pub tenant: String,
}

#[derive(Debug, Subcommand)]
pub enum RenewalsCommand {
    /// Plan a change for a day (by default the commitment's end): a quantity, a billing term or
    /// a cancellation. Checked against the commitment now; applied by `renewals run`.
    Plan {
        /// The subscription id.
        subscription: String,
        /// Set the quantity (1 to 1,000,000).
        #[arg(long, value_parser = crate::args::count(1, 1_000_000), required_unless_present_any = ["cancel", "term"], conflicts_with_all = ["cancel", "term"])]
        quantity: Option<u32>,
        /// Cancel the subscription.
        #[arg(long, conflicts_with = "term")]
        cancel: bool,
        /// Change the billing term (Monthly, Annual, ...).
        #[arg(long)]
        term: Option<String>,
        /// The day (YYYY-MM-DD); a decrease, a term change or a cancellation no earlier than the
        /// commitment's end.
        #[arg(long)]
        on: Option<String>,
        #[command(flatten)]
        store: PlanStore,
    },
    /// Plans not yet done (pending, held with the reason, failed), by due day.
    Pending {
        /// Every plan, applied and cancelled ones too.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        store: PlanStore,
    },
    /// Cancel a plan that has not been applied.
    Cancel {
        /// The plan id.
        plan: String,
        #[command(flatten)]
        store: PlanStore,
    },
    /// Apply every plan due (each exactly once, however many runs at the same time); for cron
    /// and workers.
    Run {
        /// Apply what is due on this day (default: today).
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// How long a run's claim on a plan lasts before another run settles it (a run killed
        /// after claiming).
        #[arg(long, value_name = "DURATION", default_value = "10m")]
        lease: String,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        store: PlanStore,
    },
}
