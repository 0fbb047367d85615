//! Product search: the query text becomes a safe full-text expression per dialect (FTS5 on SQLite, tsquery on
//! PostgreSQL), filters become parameters, and every sort order becomes one ascending float key so that keyset
//! pagination (`sort_key > last OR (sort_key = last AND id > last_id)`) never repeats or skips a product.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use tokshop_platform::{ServiceError, ServiceResult, db::Backend};

/// Most words of a query that are searched; the rest are ignored.
const MAX_TERMS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

impl Sort {
    fn tag(self) -> &'static str {
        match self {
            Sort::Relevance => "r",
            Sort::PriceAsc => "pa",
            Sort::PriceDesc => "pd",
            Sort::Newest => "n",
        }
    }
}

/// A search as the store runs it: filters already validated.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub terms: Vec<String>,
    pub category_id: Option<String>,
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    pub seller_id: Option<String>,
    pub in_stock_only: bool,
    /// Also return delisted products (a seller's own listing).
    pub include_delisted: bool,
    pub sort: Sort,
    pub limit: i64,
    pub after: Option<Cursor>,
}

impl SearchQuery {
    /// The key its page is cached under: a hash of every field, so no client text goes into a key.
    pub fn cache_key(&self) -> String {
        let sort = self.sort.tag();
        let after = self.after.as_ref().map(Cursor::encode).unwrap_or_default();
        let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        let (min, max) = (number(self.price_min), number(self.price_max));
        let terms = self.terms.join(" ");
        let fields: [&[u8]; 10] = [
            terms.as_bytes(),
            self.category_id.as_deref().unwrap_or_default().as_bytes(),
            min.as_bytes(),
            max.as_bytes(),
            self.seller_id.as_deref().unwrap_or_default().as_bytes(),
            if self.in_stock_only { b"1" } else { b"0" },
            if self.include_delisted { b"1" } else { b"0" },
            sort.as_bytes(),
            &self.limit.to_le_bytes(),
            after.as_bytes(),
        ];
        // Each field after its length, so no two different queries hash the same bytes.
        let mut encoded = Vec::new();
        for field in fields {
            encoded.extend_from_slice(&(field.len() as u64).to_le_bytes());
            encoded.extend_from_slice(field);
        }
        tokshop_platform::sha256_hex(&[&encoded])
    }

    /// Whether `record`, found by this search a moment ago, still passes the filters that can be checked on the
    /// product alone: listed with a price, within the price range, in stock when asked.
    pub fn still_matches(&self, record: &crate::store::ProductRecord) -> bool {
        let product = &record.product;
        let listed = self.include_delisted || (product.listed == 1 && product.min_price.is_some());
        let price = product.min_price.unwrap_or(0);
        listed
            && self.price_min.is_none_or(|min| price >= min)
            && self.price_max.is_none_or(|max| price <= max)
            && (!self.in_stock_only || record.variants.iter().any(|v| v.listed == 1 && v.stock > 0))
    }
}

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub sort: Sort,
    pub key: f64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let raw = format!(
            "{}:{:016x}:{}",
            self.sort.tag(),
            self.key.to_bits(),
            self.id
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Decodes a cursor and checks it was made for `sort`.
    pub fn decode(text: &str, sort: Sort) -> ServiceResult<Self> {
        let bad = || {
            ServiceError::invalid(
                "cursor",
                "cursor is not valid for this search; start from the first page",
            )
        };
        let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = raw.splitn(3, ':');
        let (Some(tag), Some(bits), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if tag != sort.tag() || id.is_empty() {
            return Err(bad());
        }
        let bits = u64::from_str_radix(bits, 16).map_err(|_| bad())?;
        let key = f64::from_bits(bits);
        if !key.is_finite() {
            return Err(bad());
        }
        Ok(Self {
            sort,
            key,
            id: id.to_owned(),
        })
    }
}

/// Splits free text into at most [`MAX_TERMS`] lowercase words of letters and digits. Everything else
/// (quotes, operators, punctuation) is a separator, so no input can change the query's structure.
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .take(MAX_TERMS)
        .collect()
}

/// A bound parameter.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    Float(f64),
}

/// Collects parameters and hands out their `$n` placeholders.
#[derive(Debug, Default)]
pub struct Args(pub Vec<Arg>);

impl Args {
    pub fn push(&mut self, arg: Arg) -> String {
        self.0.push(arg);
        format!("${}", self.0.len())
    }

    /// `sql` (assembled by [`build`] from fixed fragments and numbered placeholders) with these values bound:
    /// user input is only ever bound.
    pub fn bind(
        self,
        sql: String,
    ) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
        for arg in self.0 {
            statement = match arg {
                Arg::Text(value) => statement.bind(value),
                Arg::Int(value) => statement.bind(value),
                Arg::Float(value) => statement.bind(value),
            };
        }
        statement
    }
}

/// The SQL for `query` in `backend`'s dialect and its parameters. The result has the product columns of
/// `columns`, `category_name` and `sort_key`, ordered by `sort_key, id`, with one row more than the limit so the
/// caller knows whether another page exists.
pub fn build(query: &SearchQuery, backend: Backend, columns: &str) -> (String, Args) {
    let mut args = Args::default();
    let mut from = String::from("products p JOIN categories c ON c.id = p.category_id");
    let mut filters: Vec<String> = Vec::new();

    let text = !query.terms.is_empty();
    let relevance = match (text, backend) {
        (true, Backend::Sqlite) => {
            let expr: Vec<String> = query.terms.iter().map(|t| format!("\"{t}\"*")).collect();
            // CROSS JOIN fixes SQLite's join order: walk the full-text matches, then fetch each product by key.
            // Left to itself the planner may scan products and probe the index's unindexed product_id column
            // for each one, which is quadratic.
            from = "product_search s CROSS JOIN products p ON p.id = s.product_id \
                    JOIN categories c ON c.id = p.category_id"
                .to_owned();
            let placeholder = args.push(Arg::Text(expr.join(" ")));
            filters.push(format!("product_search MATCH {placeholder}"));
            // Lower bm25 is better; weights favour title, then category and options, then description.
            Some("bm25(product_search, 0.0, 10.0, 2.0, 4.0, 3.0)".to_owned())
        }
        (true, Backend::Postgres) => {
            let expr: Vec<String> = query.terms.iter().map(|t| format!("{t}:*")).collect();
            let placeholder = args.push(Arg::Text(expr.join(" & ")));
            let tsquery = format!("to_tsquery('english', {placeholder})");
            filters.push(format!("p.search_doc @@ {tsquery}"));
            Some(format!("(0 - ts_rank(p.search_doc, {tsquery}))"))
        }
        (false, _) => None,
    };

    if !query.include_delisted {
        filters.push("p.listed = 1 AND p.min_price IS NOT NULL".into());
    }
    if let Some(category) = &query.category_id {
        let placeholder = args.push(Arg::Text(category.clone()));
        filters.push(format!(
            "p.category_id IN (WITH RECURSIVE tree (id) AS (SELECT id FROM categories WHERE id = {placeholder} \
             UNION ALL SELECT k.id FROM categories k JOIN tree ON k.parent_id = tree.id) SELECT id FROM tree)"
        ));
    }
    if let Some(min) = query.price_min {
        let placeholder = args.push(Arg::Int(min));
        filters.push(format!("p.min_price >= {placeholder}"));
    }
    if let Some(max) = query.price_max {
        let placeholder = args.push(Arg::Int(max));
        filters.push(format!("p.min_price <= {placeholder}"));
    }
    if let Some(seller) = &query.seller_id {
        let placeholder = args.push(Arg::Text(seller.clone()));
        filters.push(format!("p.seller_id = {placeholder}"));
    }
    if query.in_stock_only {
        filters.push(
            "EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.listed = 1 AND v.stock > 0)".into(),
        );
    }

    if relevance.is_none() && !query.include_delisted {
        return plain(query, backend, columns, &from, filters, args);
    }
    let sort_expr = match (query.sort, relevance) {
        (Sort::Relevance, Some(rank)) => rank,
        (Sort::PriceAsc, _) => "COALESCE(p.min_price, 0)".into(),
        (Sort::PriceDesc, _) => "(0 - COALESCE(p.min_price, 0))".into(),
        (Sort::Newest | Sort::Relevance, _) => "(0 - p.created_at_ms)".into(),
    };
    let float = float_type(backend);
    let where_clause = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let inner = format!(
        "SELECT {columns}, c.name AS category_name, CAST({sort_expr} AS {float}) AS sort_key \
         FROM {from} {where_clause}"
    );
    let mut outer = format!("SELECT * FROM ({inner}) t");
    if let Some(after) = &query.after {
        let key = args.push(Arg::Float(after.key));
        let id = args.push(Arg::Text(after.id.clone()));
        outer.push_str(&format!(
            " WHERE (t.sort_key > {key} OR (t.sort_key = {key} AND t.id > {id}))"
        ));
    }
    let limit = args.push(Arg::Int(query.limit + 1));
    outer.push_str(&format!(" ORDER BY t.sort_key, t.id LIMIT {limit}"));
    (outer, args)
}

/// The SQL type the sort key is cast to.
fn float_type(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "REAL",
        Backend::Postgres => "DOUBLE PRECISION",
    }
}

/// A listed-products search without text, in one of the plain orders: ordered on the column itself, so an index
/// on `(listed, column, id)` walks straight to the page (the cursor's key is the same float as the general form's,
/// so a page cursor means the same thing whichever form made it). Filters that need no text (category, price,
/// seller, stock) check each product as the index walk reaches it.
fn plain(
    query: &SearchQuery,
    backend: Backend,
    columns: &str,
    from: &str,
    mut filters: Vec<String>,
    mut args: Args,
) -> (String, Args) {
    // (column, descending): the sort key is the column, negated when descending.
    let (column, descending) = match query.sort {
        Sort::PriceAsc => ("p.min_price", false),
        Sort::PriceDesc => ("p.min_price", true),
        Sort::Newest | Sort::Relevance => ("p.created_at_ms", true),
    };
    if let Some(after) = &query.after {
        // The column's value at the cursor: an integer (a tampered key lands on the nearest one).
        let at = if descending { -after.key } else { after.key };
        let at = args.push(Arg::Int(at.round() as i64));
        let id = args.push(Arg::Text(after.id.clone()));
        let (or_equal, beyond) = if descending { ("<=", "<") } else { (">=", ">") };
        filters.push(format!(
            "{column} {or_equal} {at} AND ({column} {beyond} {at} OR p.id > {id})"
        ));
    }
    let float = float_type(backend);
    let (sort_key, direction) = if descending {
        (format!("(0 - {column})"), " DESC")
    } else {
        (column.to_owned(), "")
    };
    let limit = args.push(Arg::Int(query.limit + 1));
    let sql = format!(
        "SELECT {columns}, c.name AS category_name, CAST({sort_key} AS {float}) AS sort_key FROM {from} \
         WHERE {} ORDER BY {column}{direction}, p.id LIMIT {limit}",
        filters.join(" AND ")
    );
    (sql, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_strip_operators() {
        assert_eq!(
            terms("Trail  shoes\" OR 1=1; -- *"),
            vec!["trail", "shoes", "or", "1", "1"]
        );
        assert!(terms("  \"*()  ").is_empty());
        assert_eq!(terms(&"a ".repeat(20)).len(), MAX_TERMS);
    }

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_sort() {
        let cursor = Cursor {
            sort: Sort::Relevance,
            key: -3.25,
            id: "prd_1".into(),
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, Sort::Relevance).unwrap(), cursor);
        assert!(Cursor::decode(&text, Sort::PriceAsc).is_err());
        assert!(Cursor::decode("garbage!", Sort::Relevance).is_err());
    }

    /// Fields that run into each other (an id holding the old separator, a limit whose bytes look like one)
    /// make different keys; the same query makes the same key.
    #[test]
    fn cache_keys_tell_every_query_apart() {
        let base = SearchQuery {
            terms: vec![],
            category_id: Some("c\u{1f}5".into()),
            price_min: None,
            price_max: None,
            seller_id: Some("s".into()),
            in_stock_only: false,
            include_delisted: false,
            sort: Sort::Newest,
            limit: 20,
            after: None,
        };
        let shifted = SearchQuery {
            category_id: Some("c".into()),
            price_min: Some(5),
            seller_id: Some("\u{1f}s".into()),
            ..base.clone()
        };
        let moved = SearchQuery {
            category_id: None,
            seller_id: Some("c\u{1f}5".into()),
            ..base.clone()
        };
        let keys = [
            &base,
            &shifted,
            &moved,
            &SearchQuery {
                limit: 31,
                ..base.clone()
            },
        ]
        .map(SearchQuery::cache_key);
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
        assert_eq!(base.cache_key(), base.clone().cache_key());
        assert_eq!(base.cache_key().len(), 64);
    }

    #[test]
    fn placeholders_follow_parameters() {
        let query = SearchQuery {
            terms: vec!["trail".into()],
            category_id: Some("cat_1".into()),
            price_min: None,
            price_max: Some(8000),
            seller_id: None,
            in_stock_only: true,
            include_delisted: false,
            sort: Sort::PriceAsc,
            limit: 20,
            after: None,
        };
        let (sql, args) = build(&query, Backend::Postgres, "p.id");
        assert_eq!(args.0.len(), 4);
        assert!(sql.contains("$4"));
        assert!(!sql.contains("$5"));
    }
}
