//! Databases as systems: a query reads a pull's changes, a statement
//! writes a push's records, on PostgreSQL or SQLite.
//!
//! The SQL is the user's, from the config file; Pacer's own tables are
//! pacer-store's. Values are always bound, never pasted into the text:
//! each `{{ name }}` becomes a placeholder (`$1` on PostgreSQL, `?1` on
//! SQLite), so a record holding `'; DROP TABLE` is a value like any other.
//! A query's rows become records as JSON objects of their columns —
//! PostgreSQL's own `row_to_json`, so every type reads as PostgreSQL
//! writes it; SQLite's five storage classes by hand.

use std::{cell::RefCell, str::FromStr, time::Duration};

use pacer_config::Connection;
use sqlx::{
    Column, Row, TypeInfo, ValueRef,
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions},
};

use crate::{Error, excerpt, resolve, template};

/// A connection pool to a system's database, opened on first use.
#[derive(Clone, Debug)]
pub(crate) enum Database {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// SQL with its `{{ name }}`s turned into placeholders, and the name each
/// placeholder stands for, in order.
#[derive(Clone, Debug)]
pub(crate) struct Sql {
    text: String,
    names: Vec<String>,
}

/// A value bound to a placeholder.
pub(crate) enum Bound {
    Text(Option<String>),
    Number(i64),
}

impl Database {
    /// The pool of `connection`'s `database`; `origin` names the job in
    /// errors. Nothing connects until the first statement.
    pub(crate) fn open(connection: &Connection, timeout: Duration) -> Result<Database, Error> {
        let written = connection.database.as_ref().ok_or_else(|| Error::Config {
            origin: format!("systems.{}", connection.system),
            message: "no database: add `database: postgres://…` or `sqlite://FILE`".into(),
        })?;
        let url = resolve(written)?;
        // The URL as a whole is a secret now; its password alone is one too.
        if let Some(password) = reqwest::Url::parse(&url)
            .ok()
            .and_then(|u| u.password().map(str::to_string))
        {
            crate::secret::register(&password);
        }
        let invalid = |e: sqlx::Error| Error::Config {
            origin: written.origin.clone(),
            message: format!(
                "not a database URL Pacer can open: {}",
                crate::redact(&e.to_string())
            ),
        };
        if url.starts_with("sqlite://") {
            let options = SqliteConnectOptions::from_str(&url).map_err(invalid)?;
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(timeout)
                .connect_lazy_with(options);
            Ok(Database::Sqlite(pool))
        } else {
            let options = PgConnectOptions::from_str(&url).map_err(invalid)?;
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(timeout)
                .connect_lazy_with(options);
            Ok(Database::Postgres(pool))
        }
    }

    /// `template` as this database's SQL.
    pub(crate) fn sql(&self, template: &str) -> Sql {
        let names = RefCell::new(Vec::<String>::new());
        let text = template::render(template, |name| {
            let mut names = names.borrow_mut();
            let n = match names.iter().position(|known| known == name) {
                Some(i) => i + 1,
                None => {
                    names.push(name.to_string());
                    names.len()
                }
            };
            Some(match self {
                Database::Postgres(_) => format!("${n}"),
                Database::Sqlite(_) => format!("?{n}"),
            })
        })
        .unwrap_or_else(|_| template.to_string());
        Sql {
            text,
            names: names.into_inner(),
        }
    }

    /// The rows `query` gives with `value` for each name, each a JSON object.
    pub(crate) async fn rows(
        &self,
        query: &Sql,
        value: impl Fn(&str) -> Bound,
    ) -> Result<Vec<String>, Error> {
        // The same binding for both backends' statement types.
        macro_rules! bind_all {
            ($statement:expr) => {{
                let mut statement = $statement;
                for name in &query.names {
                    statement = match value(name) {
                        Bound::Text(text) => statement.bind(text),
                        Bound::Number(n) => statement.bind(n),
                    };
                }
                statement
            }};
        }
        match self {
            Database::Postgres(pool) => {
                let text = format!("SELECT row_to_json(q)::text FROM ({}) AS q", query.text);
                bind_all!(sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(text)))
                    .fetch_all(pool)
                    .await
                    .map_err(failed)
            }
            Database::Sqlite(pool) => {
                let text = sqlx::AssertSqlSafe(query.text.clone());
                let rows = bind_all!(sqlx::query(text))
                    .fetch_all(pool)
                    .await
                    .map_err(failed)?;
                rows.iter().map(sqlite_row).collect()
            }
        }
    }

    /// Runs `statement` once for each of `records` (JSON objects), in one
    /// transaction: all are written, or none.
    pub(crate) async fn write(&self, statement: &Sql, records: &[String]) -> Result<(), Error> {
        let values: Vec<Vec<Option<String>>> = records
            .iter()
            .map(|record| fields(record, &statement.names))
            .collect::<Result<_, _>>()?;
        // The same transaction for both backends' pool types.
        macro_rules! in_one_transaction {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await.map_err(failed)?;
                for row in values {
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(statement.text.clone()));
                    for value in row {
                        query = query.bind(value);
                    }
                    query.execute(&mut *tx).await.map_err(failed)?;
                }
                tx.commit().await.map_err(failed)
            }};
        }
        match self {
            Database::Postgres(pool) => in_one_transaction!(pool),
            Database::Sqlite(pool) => in_one_transaction!(pool),
        }
    }
}

/// The text each of `names` binds from `record`: a string as it is, any
/// other value as JSON, null and a missing field as NULL.
fn fields(record: &str, names: &[String]) -> Result<Vec<Option<String>>, Error> {
    let value: serde_json::Value = serde_json::from_str(record)
        .map_err(|e| Error::Permanent(format!("the record is not JSON: {e}")))?;
    let serde_json::Value::Object(fields) = value else {
        return Err(Error::Permanent(format!(
            "a statement takes {{{{ field }}}}s of a JSON object; the record is {}",
            excerpt(record.as_bytes())
        )));
    };
    Ok(names
        .iter()
        .map(|name| match fields.get(name) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(text)) => Some(text.clone()),
            Some(other) => Some(other.to_string()),
        })
        .collect())
}

/// A SQLite row as a JSON object of its columns.
fn sqlite_row(row: &sqlx::sqlite::SqliteRow) -> Result<String, Error> {
    let mut object = serde_json::Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(failed)?;
        let value = if raw.is_null() {
            serde_json::Value::Null
        } else {
            match raw.type_info().name() {
                "INTEGER" | "BOOLEAN" => row.try_get::<i64, _>(i).map_err(failed)?.into(),
                "REAL" => row.try_get::<f64, _>(i).map_err(failed)?.into(),
                "BLOB" => {
                    let bytes = row.try_get::<Vec<u8>, _>(i).map_err(failed)?;
                    bytes
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                        .into()
                }
                _ => row.try_get::<String, _>(i).map_err(failed)?.into(),
            }
        };
        object.insert(column.name().to_string(), value);
    }
    Ok(serde_json::Value::Object(object).to_string())
}

/// A database's error as a connector's: what a later attempt may fix
/// (the connection, a deadlock, a busy file) or not (the SQL, the data).
fn failed(error: sqlx::Error) -> Error {
    let message = crate::redact(&error.to_string()).into_owned();
    let transient = match &error {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL's SQLSTATE classes: connection, transaction
            // rollback (serialization, deadlock), resources, operator
            // intervention; SQLite's BUSY and LOCKED.
            ["08", "40", "53", "57"]
                .iter()
                .any(|class| code.starts_with(class))
                || matches!(&*code, "5" | "6" | "517" | "262")
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    };
    if transient {
        Error::Transient(message)
    } else {
        Error::Permanent(message)
    }
}
