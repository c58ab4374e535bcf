//! One rate budget per tenant across processes and hosts: a GCRA (generic cell rate algorithm)
//! row per tenant, updated in one statement per request start by the database clock.
//!
//! With a limit of `L` requests a minute and bursts of `B` (a twentieth of `L`, at least 1),
//! starts are spaced `T = 60 s / (L − B + 1)` apart on average with a tolerance of `(B − 1)·T`;
//! `n` starts then span at least `(n − 1)·T − (B − 1)·T`, so any 60 seconds hold at most
//! `B − 1 + 60 s / T + 1 − 1 = L` of them, whichever processes sent them. A 429 sets a pause
//! every process honours.

use std::time::Duration;

use futures::future::BoxFuture;
use pax8_ext::SharedRateBudget;
use sqlx::Row;

use crate::Store;
use crate::store::dyn_query;

/// The spacing of starts and the burst tolerance, in µs, for `per_minute` a minute.
fn spacing(per_minute: u32) -> (i64, i64) {
    let limit = i64::from(per_minute.max(1));
    let burst = (limit / 20).clamp(1, limit);
    // Rounded up: never faster than the limit.
    let interval = (60_000_000 + (limit - burst)) / (limit - burst + 1);
    (interval, (burst - 1) * interval)
}

/// A tenant's rate budget in the database (see the module documentation).
#[derive(Debug, Clone)]
pub struct DbRateBudget {
    store: Store,
    tenant: String,
    /// The spacing between starts, in µs.
    interval_us: i64,
    /// How far ahead of its time a start may go (the burst), in µs.
    tolerance_us: i64,
}

impl DbRateBudget {
    /// The budget of `tenant`, whose credentials allow `per_minute` requests a minute.
    pub fn new(store: Store, tenant: &str, per_minute: u32) -> DbRateBudget {
        let (interval_us, tolerance_us) = spacing(per_minute);
        DbRateBudget { store, tenant: tenant.to_string(), interval_us, tolerance_us }
    }

    async fn try_take(&self) -> Result<Result<(), Duration>, sqlx::Error> {
        let now = self.store.now_us_sql();
        let taken = dyn_query(format!(
            "UPDATE rate_budgets SET tat_us = {}(tat_us, {now}) + $1 \
             WHERE tenant = $2 AND tat_us - $3 <= {now} AND paused_until_us <= {now}",
            self.store.greatest()
        ))
        .bind(self.interval_us)
        .bind(self.tenant.clone())
        .bind(self.tolerance_us)
        .execute(&self.store.pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(Ok(()));
        }
        let row =
            dyn_query(format!("SELECT tat_us, paused_until_us, {now} AS now_us FROM rate_budgets WHERE tenant = $1"))
                .bind(self.tenant.clone())
                .fetch_optional(&self.store.pool)
                .await?;
        let Some(row) = row else {
            // The tenant's first request anywhere: its row, then the start.
            sqlx::query(
                "INSERT INTO rate_budgets (tenant, tat_us, paused_until_us) VALUES ($1, 0, 0) ON CONFLICT (tenant) DO NOTHING",
            )
            .bind(self.tenant.clone())
            .execute(&self.store.pool)
            .await?;
            return Ok(Err(Duration::ZERO));
        };
        let (tat, paused, now): (i64, i64, i64) =
            (row.try_get("tat_us")?, row.try_get("paused_until_us")?, row.try_get("now_us")?);
        let wait_us = tat.saturating_sub(self.tolerance_us).max(paused).saturating_sub(now).max(0);
        Ok(Err(Duration::from_micros(u64::try_from(wait_us).unwrap_or(0))))
    }
}

impl SharedRateBudget for DbRateBudget {
    fn take(&self) -> BoxFuture<'_, Result<(), Duration>> {
        Box::pin(async move {
            match self.try_take().await {
                Ok(answer) => answer,
                Err(e) => {
                    // The database is out of reach: the client's own limiter still holds this
                    // process to the tenant's rate.
                    tracing::warn!(tenant = %self.tenant, error = %e, "pax8-sync: rate budget unavailable");
                    Ok(())
                }
            }
        })
    }

    fn throttled(&self, pause: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let now = self.store.now_us_sql();
            let pause_us = i64::try_from(pause.min(Duration::from_secs(300)).as_micros()).unwrap_or(i64::MAX);
            let done = dyn_query(format!(
                "UPDATE rate_budgets SET paused_until_us = {}(paused_until_us, {now} + $1) WHERE tenant = $2",
                self.store.greatest()
            ))
            .bind(pause_us)
            .bind(self.tenant.clone())
            .execute(&self.store.pool)
            .await;
            if let Err(e) = done {
                tracing::warn!(tenant = %self.tenant, error = %e, "pax8-sync: cannot record the pause");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    /// The largest number of starts any 60 s can hold under the spacing `new` computes.
    fn most_in_a_minute(per_minute: u32) -> i64 {
        let (interval, tolerance) = super::spacing(per_minute);
        // The earliest the k-th start (from 0) can be, the first at 0, is k·T − tolerance:
        // count those before 60 s.
        (0..=i64::from(per_minute) * 2).take_while(|k| k * interval - tolerance < 60_000_000).count() as i64
    }

    #[test]
    fn the_spacing_is_rounded_up_and_the_burst_is_a_twentieth() {
        // 100 a minute: bursts of 5, starts 60 s / 96 = 625 ms apart (exactly), 4 of them early.
        assert_eq!(super::spacing(100), (625_000, 4 * 625_000));
        // 60 a minute: 60 s / 58, rounded up.
        assert_eq!(super::spacing(60), (1_034_483, 2 * 1_034_483));
        assert_eq!(super::spacing(1), (60_000_000, 0));
        assert_eq!(super::spacing(0), super::spacing(1), "at least one a minute");
    }

    #[test]
    fn no_minute_holds_more_than_the_limit() {
        for limit in [1, 2, 19, 20, 21, 100, 999, 1000, 5000] {
            let most = most_in_a_minute(limit);
            assert!(most <= i64::from(limit), "{limit}: {most}");
            assert!(most >= i64::from(limit) * 9 / 10, "{limit}: only {most}: the budget is wasted");
        }
    }
}
