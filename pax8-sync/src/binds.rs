//! How the write path's statements bind their values on each backend: placeholders (`$n` on
//! PostgreSQL, `?` on SQLite), how many values a statement takes, and sets of ids.

use sqlx::Any;

/// A statement with its values bound.
pub(crate) type Query = sqlx::query::Query<'static, Any, sqlx::any::AnyArguments>;

/// Bound values per statement on SQLite (its limit: 32,766).
const SQLITE_BINDS: usize = 4_000;

/// Bound values per statement on `connection`: fewer, larger statements mean fewer trips to the
/// database (on SQLite, to its connection's thread). Both stay far under their limits (32,766
/// and 65,535).
pub(crate) fn max_binds(connection: &sqlx::AnyConnection) -> usize {
    if connection.backend_name().eq_ignore_ascii_case("sqlite") { SQLITE_BINDS } else { 8_000 }
}

/// How a statement of the write path binds its values. Ids bound into one statement: on
/// PostgreSQL one JSON array parameter matched with `= ANY(…)`, an index lookup per id whatever
/// the plan (an `IN (…)` list or a join on `VALUES` took up to 0.8 s a statement under a generic
/// plan on a just-filled table), on SQLite a list of values.
///
/// Placeholders ([`Ids::param`]) are `$n` on PostgreSQL and a bare `?` on SQLite, where a
/// statement's values are therefore bound in the order their placeholders appear: sqlx's SQLite
/// driver looks a named parameter (`$n`, `?n`) up by its name, a scan of the statement's names
/// for each value, which had made 12,000 rows take 2.1 s in statements of 4,000 values against
/// 0.33 s in statements of 400 (the `timing` probe in `write.rs`, before the change).
pub(crate) struct Ids {
    pub(crate) postgres: bool,
}

impl Ids {
    pub(crate) fn of(connection: &sqlx::AnyConnection) -> Ids {
        Ids { postgres: !connection.backend_name().eq_ignore_ascii_case("sqlite") }
    }

    pub(crate) fn for_store(store: &crate::Store) -> Ids {
        Ids { postgres: store.is_postgres() }
    }

    /// How many ids one statement takes, beside `other` bound values.
    pub(crate) fn per_statement(&self, other: usize) -> usize {
        if self.postgres { 10_000 } else { SQLITE_BINDS - other }
    }

    /// The placeholder of the `n`th bound value (see above: on SQLite, in binding order).
    pub(crate) fn param(&self, n: usize) -> String {
        if self.postgres { format!("${n}") } else { "?".to_string() }
    }

    /// `column` is one of the ids bound from parameter `first` on.
    pub(crate) fn condition(&self, column: &str, first: usize, count: usize) -> String {
        if self.postgres {
            format!("{column} = ANY(ARRAY(SELECT json_array_elements_text(CAST(${first} AS json))))")
        } else {
            let list = (first..first + count).map(|n| self.param(n)).collect::<Vec<_>>().join(", ");
            format!("{column} IN ({list})")
        }
    }

    pub(crate) fn bind(&self, mut q: Query, ids: &[String]) -> Query {
        if self.postgres {
            q.bind(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()))
        } else {
            for id in ids {
                q = q.bind(id.clone());
            }
            q
        }
    }
}

#[cfg(test)]
mod tests {
    use super::max_binds;

    #[tokio::test]
    async fn a_page_of_subscriptions_is_one_statement_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&format!("sqlite://{}", dir.path().join("binds.db").display())).await.unwrap();
        let connection = store.pool.acquire().await.unwrap();
        // A subscription row binds 14 values (9 typed columns, tenant, id, data, hash, sync id).
        let rows = max_binds(&connection) / 14;
        assert!(rows >= 200, "a 200-item page in one statement, not {rows} rows a statement");
        assert!(max_binds(&connection) <= 32_766, "SQLite's limit");
    }
}
