//! Moving a database's schema and rows between two connections a page at a time: the remote
//! archive copies a remote database into a local file (a snapshot) and a checked file into a
//! remote database (a restore) with these. A page is one answer of a remote database and a
//! batch of multi-row INSERTs one request, so a large table never becomes one huge answer or
//! statement.

use crate::sql::{Connection, SqlError, Value};

/// Rows per page at most (one answer from a remote database).
const PAGE_ROWS: usize = 256;

/// Bytes of values per page at most (roughly; a page holds at least one row): a remote server
/// refuses an answer past its limit (sqld: `--max-response-size`, 10 MB by default), and the
/// JSON of an answer is larger than its values (base64 for blobs, escapes in text).
const PAGE_BYTES: i64 = 2 << 20;

/// Parameters per INSERT at most: SQLite's limit in builds before 3.32
/// (`SQLITE_MAX_VARIABLE_NUMBER` = 999). Newer ones allow 32766, but the remote server's build
/// is not ours to know, and 999 is few enough for any.
const MAX_PARAMS: usize = 999;

/// Bytes of values per INSERT, and per request of INSERTs, at most (roughly): rows holding
/// request and response bodies are large, and one request should stay a few MB.
const MAX_STATEMENT_BYTES: usize = 1 << 20;
const MAX_REQUEST_BYTES: usize = 4 << 20;

/// What a copy reads and restores: our own objects, never SQLite's (`sqlite_sequence`,
/// `sqlite_stat1`, handled apart or left out) nor libSQL's internals.
pub(super) const OURS: &str = "name NOT LIKE 'sqlite_%' AND name NOT LIKE 'libsql_%'";

/// One object of a schema, as `sqlite_master` has it.
pub(super) struct SchemaObject {
    /// `table`, `index`, `trigger` or `view`.
    pub kind: String,
    pub name: String,
    /// The statement that created it.
    pub sql: String,
}

impl SchemaObject {
    /// A table keyed by its rowid (every table but a `WITHOUT ROWID` one), which pages by it.
    fn has_rowid(&self) -> bool {
        !self.sql.to_ascii_uppercase().replace(char::is_whitespace, "").contains("WITHOUTROWID")
    }
}

/// Our objects of `conn`'s schema in the order they were created (indexes after their
/// tables), without the automatic ones (a primary key's or a UNIQUE's index has no SQL).
pub(super) async fn schema(conn: &Connection) -> Result<Vec<SchemaObject>, SqlError> {
    let mut rows = conn
        .query(
            &format!("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND {OURS} ORDER BY rowid"),
            (),
        )
        .await?;
    let mut objects = Vec::new();
    while let Some(row) = rows.next().await? {
        objects.push(SchemaObject { kind: row.get(0)?, name: row.get(1)?, sql: row.get(2)? });
    }
    Ok(objects)
}

/// `name` as an SQL identifier.
pub(super) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The columns of `table` on `conn`, in order.
pub(super) async fn columns(conn: &Connection, table: &str) -> Result<Vec<String>, SqlError> {
    let mut rows = conn.query("SELECT name FROM pragma_table_info(?1)", [table]).await?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await? {
        out.push(row.get::<String>(0)?);
    }
    if out.is_empty() {
        return Err(SqlError(format!("no table `{table}`")));
    }
    Ok(out)
}

/// Copies every row of `table` (its `columns`) from `from` into the same table on `to`;
/// returns how many. Both should be inside a transaction: the pages are read one after the
/// other, and only a transaction makes them one state.
///
/// Each page is two reads: the sizes of the next rows (a small answer), then as many of those
/// rows as fit in [`PAGE_BYTES`], so a table of large values never makes an answer the server
/// refuses. By rowid (an index walk from where the last page ended); a table without one pages
/// by offset, which the transaction keeps stable.
pub(super) async fn copy_rows(
    from: &Connection,
    to: &Connection,
    table: &SchemaObject,
    columns: &[String],
) -> Result<u64, SqlError> {
    let list = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
    let size = columns
        .iter()
        .map(|c| format!("COALESCE(length(CAST({} AS BLOB)), 0) + 8", ident(c)))
        .collect::<Vec<_>>()
        .join(" + ");
    let name = ident(&table.name);
    let by_rowid = table.has_rowid();
    let mut last_rowid: Option<i64> = None;
    let mut copied = 0u64;
    loop {
        let (after, params) = match last_rowid {
            Some(rowid) => ("WHERE rowid > ?1", vec![Value::Integer(rowid)]),
            None => ("", vec![]),
        };
        let sizes_sql = if by_rowid {
            format!("SELECT rowid, {size} FROM {name} {after} ORDER BY rowid LIMIT {PAGE_ROWS}")
        } else {
            format!("SELECT 0, {size} FROM {name} LIMIT {PAGE_ROWS} OFFSET {copied}")
        };
        let mut rows = from.query(&sizes_sql, params.clone()).await?;
        let mut sizes = Vec::with_capacity(PAGE_ROWS);
        while let Some(row) = rows.next().await? {
            sizes.push((row.get::<i64>(0)?, row.get::<i64>(1)?));
        }
        let Some(&(_, first)) = sizes.first() else { return Ok(copied) };
        let mut take = 1;
        let mut bytes = first;
        while take < sizes.len() && bytes + sizes[take].1 <= PAGE_BYTES {
            bytes += sizes[take].1;
            take += 1;
        }
        let page_sql = if by_rowid {
            let until = sizes[take - 1].0;
            let range = match last_rowid {
                Some(_) => format!("WHERE rowid > ?1 AND rowid <= {until}"),
                None => format!("WHERE rowid <= {until}"),
            };
            format!("SELECT {list} FROM {name} {range} ORDER BY rowid")
        } else {
            format!("SELECT {list} FROM {name} LIMIT {take} OFFSET {copied}")
        };
        let mut rows = from.query(&page_sql, if by_rowid { params } else { vec![] }).await?;
        let mut page = Vec::with_capacity(take);
        while let Some(row) = rows.next().await? {
            let values = (0..columns.len())
                .map(|i| row.get_value(i32::try_from(i).unwrap_or(i32::MAX)))
                .collect::<Result<Vec<_>, _>>()?;
            page.push(values);
        }
        if page.len() != take {
            return Err(SqlError(format!("`{}` changed while it was copied", table.name)));
        }
        insert(to, &name, &list, columns.len(), page).await?;
        copied += take as u64;
        last_rowid = Some(sizes[take - 1].0);
        if take == sizes.len() && sizes.len() < PAGE_ROWS {
            return Ok(copied);
        }
    }
}

/// Inserts `rows` into `table` with multi-row INSERTs of at most [`MAX_PARAMS`] parameters,
/// sent a few MB at a time.
async fn insert(to: &Connection, table: &str, list: &str, width: usize, rows: Vec<Vec<Value>>) -> Result<(), SqlError> {
    let per_statement = (MAX_PARAMS / width.max(1)).max(1);
    let placeholder = format!("({})", vec!["?"; width].join(", "));
    let mut request: Vec<(String, Vec<Value>)> = Vec::new();
    let mut request_bytes = 0;
    let mut params: Vec<Value> = Vec::new();
    let mut statement_bytes = 0;
    let mut count = 0;
    let statement = |count: usize, params: Vec<Value>| {
        let values = vec![placeholder.as_str(); count].join(", ");
        (format!("INSERT INTO {table} ({list}) VALUES {values}"), params)
    };
    for row in rows {
        let bytes: usize = row.iter().map(value_bytes).sum();
        if count > 0 && (count == per_statement || statement_bytes + bytes > MAX_STATEMENT_BYTES) {
            request.push(statement(count, std::mem::take(&mut params)));
            (count, statement_bytes) = (0, 0);
            if request_bytes >= MAX_REQUEST_BYTES {
                to.execute_each(std::mem::take(&mut request)).await?;
                request_bytes = 0;
            }
        }
        params.extend(row);
        count += 1;
        statement_bytes += bytes;
        request_bytes += bytes;
    }
    if count > 0 {
        request.push(statement(count, params));
    }
    to.execute_each(request).await
}

/// About how many bytes a value takes on the wire.
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::Text(s) => s.len() + 16,
        Value::Blob(b) => b.len() * 4 / 3 + 16,
        _ => 24,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn memory() -> Connection {
        let db = libsql::Builder::new_local(":memory:").build().await.unwrap();
        // The connection keeps the in-memory database alive.
        Connection::Local(db.connect().unwrap())
    }

    async fn count(conn: &Connection, table: &str) -> i64 {
        let mut rows = conn.query(&format!("SELECT COUNT(*) FROM {table}"), ()).await.unwrap();
        rows.next().await.unwrap().unwrap().get(0).unwrap()
    }

    #[tokio::test]
    async fn wide_and_long_tables_are_copied_whole_in_bounded_statements() {
        let from = memory().await;
        let to = memory().await;
        // 40 columns: 24 rows per INSERT; 1000 rows: four pages, the last one short.
        let cols: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        let create = format!("CREATE TABLE \"we\"\"ird\" (id INTEGER PRIMARY KEY, {})", cols.join(", "));
        from.execute(&create, ()).await.unwrap();
        to.execute(&create, ()).await.unwrap();
        let row_values: Vec<String> = (0..40).map(|i| format!("'{}'", "x".repeat(i))).collect();
        for _ in 0..1000 {
            from.execute(&format!("INSERT INTO \"we\"\"ird\" VALUES (NULL, {})", row_values.join(", ")), ())
                .await
                .unwrap();
        }
        // Rows deleted in the middle: the rowid walk skips the gap.
        from.execute("DELETE FROM \"we\"\"ird\" WHERE id BETWEEN 300 AND 310", ()).await.unwrap();
        let objects = schema(&from).await.unwrap();
        assert_eq!(objects.len(), 1);
        assert!(objects[0].has_rowid());
        let columns = columns(&from, &objects[0].name).await.unwrap();
        assert_eq!(columns.len(), 41);
        let copied = copy_rows(&from, &to, &objects[0], &columns).await.unwrap();
        assert_eq!(copied, 989);
        assert_eq!(count(&to, "\"we\"\"ird\"").await, 989);
        let mut rows = to.query("SELECT c39 FROM \"we\"\"ird\" WHERE id = 1000", ()).await.unwrap();
        assert_eq!(rows.next().await.unwrap().unwrap().get::<String>(0).unwrap(), "x".repeat(39));
    }

    #[tokio::test]
    async fn a_page_holds_no_more_than_its_bytes() {
        let from = memory().await;
        let to = memory().await;
        let create = "CREATE TABLE bodies (id INTEGER PRIMARY KEY, body TEXT, data BLOB)";
        from.execute(create, ()).await.unwrap();
        to.execute(create, ()).await.unwrap();
        // 30 rows of 700 kB: three per page, and one row larger than a page on its own.
        from.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
             INSERT INTO bodies (body, data) SELECT hex(zeroblob(350000)), NULL FROM n",
            (),
        )
        .await
        .unwrap();
        from.execute("INSERT INTO bodies (body, data) VALUES ('', zeroblob(3000000))", ()).await.unwrap();
        let objects = schema(&from).await.unwrap();
        let columns = columns(&from, "bodies").await.unwrap();
        assert_eq!(copy_rows(&from, &to, &objects[0], &columns).await.unwrap(), 31);
        let mut rows = to.query("SELECT COUNT(*), SUM(length(body)), SUM(length(data)) FROM bodies", ()).await.unwrap();
        let row = rows.next().await.unwrap().unwrap();
        assert_eq!(row.get::<i64>(0).unwrap(), 31);
        assert_eq!(row.get::<i64>(1).unwrap(), 30 * 700_000);
        assert_eq!(row.get::<i64>(2).unwrap(), 3_000_000);
    }

    #[tokio::test]
    async fn a_table_without_rowid_pages_by_offset() {
        let from = memory().await;
        let to = memory().await;
        let create = "CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID";
        from.execute(create, ()).await.unwrap();
        to.execute(create, ()).await.unwrap();
        for i in 0..600 {
            from.execute(
                "INSERT INTO kv VALUES (?1, ?2)",
                vec![Value::Text(format!("k{i:04}")), Value::Blob(vec![7; 3])],
            )
            .await
            .unwrap();
        }
        let objects = schema(&from).await.unwrap();
        assert!(!objects[0].has_rowid());
        let columns = columns(&from, "kv").await.unwrap();
        assert_eq!(copy_rows(&from, &to, &objects[0], &columns).await.unwrap(), 600);
        assert_eq!(count(&to, "kv").await, 600);
    }
}
