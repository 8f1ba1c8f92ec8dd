//! What both backends run alike: a [`Statement`] and the [`Run`] trait.
//!
//! SQLite reads `$1` as PostgreSQL does, so a statement whose text both
//! accept is written once, in `shared.rs`, with its values. A backend
//! only says how it binds a statement's values and where the statement runs
//! (SQLite: writes through its one writer, reads on a reader; PostgreSQL:
//! its pool). What truly differs — array values, claims, transactions of
//! several statements — stays in `sqlite.rs` and `postgres.rs`.

use std::borrow::Cow;

use sqlx::{
    Arguments, AssertSqlSafe, Database, Encode, FromRow, Type, error::BoxDynError, postgres::PgRow,
    sqlite::SqliteRow,
};

use crate::Error;

/// A value bound to a statement.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value<'a> {
    Int(i64),
    Text(&'a str),
    Bool(bool),
    MaybeInt(Option<i64>),
    MaybeText(Option<&'a str>),
    /// A list, read in SQL as `elements($n)`: see [`Dialect`].
    Ints(&'a [i64]),
    /// A list of text, read as `elements($n)`.
    Texts(&'a [String]),
    /// The same, borrowed.
    Strs(&'a [&'a str]),
}

impl<'a> From<&'a [&'a str]> for Value<'a> {
    fn from(v: &'a [&'a str]) -> Self {
        Value::Strs(v)
    }
}

impl<'a> From<&'a [i64]> for Value<'a> {
    fn from(v: &'a [i64]) -> Self {
        Value::Ints(v)
    }
}

impl<'a> From<&'a [String]> for Value<'a> {
    fn from(v: &'a [String]) -> Self {
        Value::Texts(v)
    }
}

/// What the two backends spell differently: a list. A statement reads list
/// `$n` as the table `elements($n)`, of one column, `value`.
/// PostgreSQL's row locks for a claim: concurrent claimers take different
/// rows instead of queueing behind each other.
const ROW_LOCKS: &str = "FOR UPDATE SKIP LOCKED";

pub(crate) trait Dialect: Database {
    /// `sql` with each `elements($n)` as this backend writes it.
    fn sql(sql: &'static str) -> AssertSqlSafe<Cow<'static, str>>;

    /// Binds a list.
    fn add_list(arguments: &mut Self::Arguments, list: Value<'_>) -> Result<(), BoxDynError>;
}

impl Dialect for sqlx::Sqlite {
    /// Also drops `FOR UPDATE SKIP LOCKED`: SQLite has one writer at a
    /// time, so a claim needs no row locks to skip.
    fn sql(sql: &'static str) -> AssertSqlSafe<Cow<'static, str>> {
        let mut sql = Cow::Borrowed(sql);
        if sql.contains("elements(") {
            sql = Cow::Owned(sql.replace("elements(", "json_each("));
        }
        if sql.contains(ROW_LOCKS) {
            sql = Cow::Owned(sql.replace(ROW_LOCKS, ""));
        }
        AssertSqlSafe(sql)
    }

    fn add_list(arguments: &mut Self::Arguments, list: Value<'_>) -> Result<(), BoxDynError> {
        arguments.add(sqlite_list(list)?)
    }
}

/// A list as SQLite takes it: JSON text, which `json_each` reads.
pub(crate) fn sqlite_list(list: Value<'_>) -> Result<String, BoxDynError> {
    Ok(match list {
        Value::Ints(v) => serde_json::to_string(v)?,
        Value::Texts(v) => serde_json::to_string(v)?,
        Value::Strs(v) => serde_json::to_string(v)?,
        _ => return Err("not a list".into()),
    })
}

impl Dialect for sqlx::Postgres {
    fn sql(sql: &'static str) -> AssertSqlSafe<Cow<'static, str>> {
        let mut rest = sql;
        let mut out = String::new();
        while let Some(at) = rest.find("elements(") {
            let (before, after) = rest.split_at(at);
            let Some(end) = after.find(')') else {
                break;
            };
            out.push_str(before);
            out.push_str("UNNEST(");
            out.push_str(&after["elements(".len()..end]);
            out.push_str(") AS elements(value)");
            rest = &after[end + 1..];
        }
        if out.is_empty() {
            return AssertSqlSafe(Cow::Borrowed(sql));
        }
        out.push_str(rest);
        AssertSqlSafe(Cow::Owned(out))
    }

    /// A list goes as a PostgreSQL array.
    fn add_list(arguments: &mut Self::Arguments, list: Value<'_>) -> Result<(), BoxDynError> {
        match list {
            Value::Ints(v) => arguments.add(v),
            Value::Texts(v) => arguments.add(v),
            Value::Strs(v) => arguments.add(v),
            _ => Err("not a list".into()),
        }
    }
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        Value::MaybeInt(v)
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Value::MaybeText(v)
    }
}

/// One SQL statement both backends accept (`$1`… for its values, no casts
/// with `::`, no functions only one of them has), with its values and what
/// it does, for errors.
#[derive(Debug)]
pub(crate) struct Statement<'a> {
    pub(crate) sql: &'static str,
    pub(crate) values: Vec<Value<'a>>,
    pub(crate) context: String,
}

impl<'a> Statement<'a> {
    /// `sql`, doing `context` (the error says "while {context}").
    pub(crate) fn new(sql: &'static str, context: impl Into<String>) -> Statement<'a> {
        Statement {
            sql,
            values: Vec::new(),
            context: context.into(),
        }
    }

    /// Binds the next `$n`.
    pub(crate) fn bind(mut self, value: impl Into<Value<'a>>) -> Statement<'a> {
        self.values.push(value.into());
        self
    }
}

/// A row every backend decodes: tuples of `i64`, `String`, `bool` and
/// their `Option`s.
pub(crate) trait Decode:
    for<'r> FromRow<'r, SqliteRow>
    + for<'r> FromRow<'r, PgRow>
    + for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error>
    + Send
    + Unpin
{
}

impl<T> Decode for T where
    T: for<'r> FromRow<'r, SqliteRow>
        + for<'r> FromRow<'r, PgRow>
        + for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error>
        + Send
        + Unpin
{
}

/// A transaction on either backend, open until [`Tx::commit`]; dropped
/// before, it rolls back.
pub(crate) enum Tx<'c> {
    Sqlite(sqlx::Transaction<'c, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'c, sqlx::Postgres>),
    Memory(crate::memory::Open<'c>),
}

impl Tx<'_> {
    /// Runs a write in the transaction; returns the rows it changed.
    pub(crate) async fn execute(&mut self, statement: Statement<'_>) -> Result<u64, Error> {
        let done = match self {
            Tx::Sqlite(tx) => sqlx::query_with(
                sqlx::Sqlite::sql(statement.sql),
                statement.arguments::<sqlx::Sqlite>()?,
            )
            .execute(&mut **tx)
            .await
            .map(|done| done.rows_affected()),
            Tx::Postgres(tx) => sqlx::query_with(
                sqlx::Postgres::sql(statement.sql),
                statement.arguments::<sqlx::Postgres>()?,
            )
            .execute(&mut **tx)
            .await
            .map(|done| done.rows_affected()),
            Tx::Memory(tx) => return tx.execute(&statement),
        };
        done.map_err(Error::database(statement.context))
    }

    /// Runs a statement that returns rows in the transaction.
    pub(crate) async fn fetch<R: Decode>(
        &mut self,
        statement: Statement<'_>,
    ) -> Result<Vec<R>, Error> {
        let rows = match self {
            Tx::Sqlite(tx) => {
                sqlx::query_as_with(
                    sqlx::Sqlite::sql(statement.sql),
                    statement.arguments::<sqlx::Sqlite>()?,
                )
                .fetch_all(&mut **tx)
                .await
            }
            Tx::Postgres(tx) => {
                sqlx::query_as_with(
                    sqlx::Postgres::sql(statement.sql),
                    statement.arguments::<sqlx::Postgres>()?,
                )
                .fetch_all(&mut **tx)
                .await
            }
            Tx::Memory(tx) => return tx.fetch(&statement),
        };
        rows.map_err(Error::database(statement.context))
    }

    /// Runs a script of statements without values (a migration).
    pub(crate) async fn execute_script(&mut self, sql: &str, context: &str) -> Result<(), Error> {
        // A script is one of the crate's own migrations, never user text.
        let sql = AssertSqlSafe(sql.to_owned());
        match self {
            Tx::Sqlite(tx) => sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop),
            Tx::Postgres(tx) => sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop),
            Tx::Memory(tx) => return tx.execute_script(&sql.0, context),
        }
        .map_err(Error::database(context))
    }

    /// Commits what the transaction did.
    pub(crate) async fn commit(self, context: &str) -> Result<(), Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
            Tx::Memory(tx) => return tx.commit(context),
        }
        .map_err(Error::database(context))
    }
}

/// Where a backend runs a [`Statement`].
/// What runs in a transaction: statements on its [`Tx`], then a value.
pub(crate) trait Work<T>: AsyncFnOnce(&mut Tx<'_>) -> Result<T, Error> {}

impl<T, F: AsyncFnOnce(&mut Tx<'_>) -> Result<T, Error>> Work<T> for F {}

pub(crate) trait Run {
    /// Runs `work` in one transaction, committed when it returns `Ok`.
    async fn transaction<T>(&self, context: &str, work: impl Work<T>) -> Result<T, Error>;

    /// Runs a write; returns the rows it changed.
    async fn execute(&self, statement: Statement<'_>) -> Result<u64, Error>;

    /// Runs a write that returns rows (`RETURNING`).
    async fn execute_returning<R: Decode>(&self, statement: Statement<'_>)
    -> Result<Vec<R>, Error>;

    /// Runs a read.
    async fn fetch<R: Decode>(&self, statement: Statement<'_>) -> Result<Vec<R>, Error>;

    /// Runs a read of one row, which is there (an aggregate, `EXISTS`).
    async fn fetch_one<R: Decode>(&self, statement: Statement<'_>) -> Result<R, Error> {
        let context = statement.context.clone();
        self.fetch(statement)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::database(context)(sqlx::Error::RowNotFound))
    }

    /// Runs a read of at most one row.
    async fn fetch_optional<R: Decode>(
        &self,
        statement: Statement<'_>,
    ) -> Result<Option<R>, Error> {
        Ok(self.fetch(statement).await?.into_iter().next())
    }
}

impl Statement<'_> {
    /// Its values as `DB`'s arguments.
    pub(crate) fn arguments<DB: Dialect>(&self) -> Result<DB::Arguments, Error>
    where
        for<'t> i64: Encode<'t, DB> + Type<DB>,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        for<'t> bool: Encode<'t, DB> + Type<DB>,
        for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
        for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
    {
        arguments::<DB>(&self.values)
            .map_err(|e| Error::database(self.context.clone())(sqlx::Error::Encode(e)))
    }
}

fn arguments<DB: Dialect>(values: &[Value<'_>]) -> Result<DB::Arguments, BoxDynError>
where
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> bool: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
{
    let mut arguments = DB::Arguments::default();
    for value in values {
        match *value {
            Value::Int(v) => arguments.add(v)?,
            Value::Text(v) => arguments.add(v)?,
            Value::Bool(v) => arguments.add(v)?,
            Value::MaybeInt(v) => arguments.add(v)?,
            Value::MaybeText(v) => arguments.add(v)?,
            list @ (Value::Ints(_) | Value::Texts(_) | Value::Strs(_)) => {
                DB::add_list(&mut arguments, list)?
            }
        }
    }
    Ok(arguments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_reads_a_list_its_own_way() {
        let sql = "UPDATE t SET a = $1 WHERE id IN (SELECT value FROM elements($2))
                   AND key IN (SELECT value FROM elements($10))";
        assert_eq!(
            sqlx::Postgres::sql(sql).0,
            "UPDATE t SET a = $1 WHERE id IN (SELECT value FROM UNNEST($2) AS elements(value))
                   AND key IN (SELECT value FROM UNNEST($10) AS elements(value))"
        );
        assert_eq!(
            sqlx::Sqlite::sql(sql).0,
            "UPDATE t SET a = $1 WHERE id IN (SELECT value FROM json_each($2))
                   AND key IN (SELECT value FROM json_each($10))"
        );
        // Without a list, the text goes as it is.
        assert!(matches!(
            sqlx::Postgres::sql("SELECT 1").0,
            Cow::Borrowed(_)
        ));
    }
}
