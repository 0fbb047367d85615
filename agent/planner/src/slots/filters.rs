//! Search filters in a message: a price range or limit (English and Chinese, digits or numerals), a sort order,
//! "in stock only"; what is left is the query.

use tokshop_tools::catalog::{self, SearchArgs};

use super::query::clean_query;
use crate::text::{Re, captures, cut, group, parse_amount};

patterns! {
    EN_RANGE = r"\b(?:between|from)\s+\$?(\d+(?:\.\d+)?)\s*(?:usd|dollars?|bucks|\$)?\s*(?:and|to|-)\s*\$?(\d+(?:\.\d+)?)\s*(?:usd|dollars?|bucks)?\b";
    EN_RANGE_DOLLAR = r"\$(\d+(?:\.\d+)?)\s*(?:-|to)\s*\$?(\d+(?:\.\d+)?)";
    EN_RANGE_UNIT = r"\b(\d+(?:\.\d+)?)\s*(?:-|to)\s*(\d+(?:\.\d+)?)\s*(?:usd|dollars|bucks)\b";
    EN_RANGE_PRICED = r"\bpric(?:e|ed|es)\s*(?:range\s*)?(?:of\s*|is\s*)?:?\s*\$?(\d+(?:\.\d+)?)\s*(?:-|to)\s*\$?(\d+(?:\.\d+)?)";
    EN_MAX = r"\b(?:under|below|less than|cheaper than|up to|at most|max(?:imum)?(?:\s+price)?(?:\s+of)?|no more than|not more than|not over|within|lower than|budget(?:\s+of|\s+is)?)\s*:?\s*\$?(\d+(?:\.\d+)?)\s*(?:usd|dollars?|bucks|\$)?";
    EN_MAX_SYM = r"(?:<=?|≤)\s*\$?(\d+(?:\.\d+)?)";
    EN_MAX_POST = r"\$?(\d+(?:\.\d+)?)\s*(?:usd|dollars?|bucks)?\s+(?:or less|or under|or cheaper|and under|and below|max)\b";
    EN_MIN = r"\b(?:over|above|more than|at least|min(?:imum)?(?:\s+price)?(?:\s+of)?|starting (?:at|from)|from|higher than|no less than)\s*:?\s*\$?(\d+(?:\.\d+)?)\s*(?:usd|dollars?|bucks|\$)?";
    EN_MIN_SYM = r"(?:>=?|≥)\s*\$?(\d+(?:\.\d+)?)";
    EN_MIN_POST = r"\$?(\d+(?:\.\d+)?)\s*(?:usd|dollars?|bucks)?\s+(?:or more|and up|and above|or above|plus)\b";
    ZH_RANGE = r"(?:价格|价位|价钱)?\s*在?\s*(\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+)\s*(?:元|块钱?|美元|美金|刀)?\s*(?:到|至|-|~)\s*(\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+)\s*(?:元|块钱?|美元|美金|刀)?\s*(?:之间|以内|左右)?";
    ZH_MAX_PRE = r"(?:低于|少于|不超过|不到|不高于|最多|最高|小于|预算)\s*(\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+)\s*(?:元|块钱?|美元|美金|刀)?";
    ZH_MAX_POST = r"(\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+)\s*(?:元|块钱?|美元|美金|刀)?\s*(?:以下|以内|之内)";
    ZH_MIN_PRE = r"(?:高于|多于|超过|至少|不低于|大于|起码)\s*(\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+)\s*(?:元|块钱?|美元|美金|刀)?";
    ZH_MIN_POST = r"(\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+)\s*(?:元|块钱?|美元|美金|刀)?\s*(?:以上|起)";
    SORT_ASC = r"\b(?:sort(?:ed)?\s+by\s+)?(?:(?:the\s+)?cheapest|lowest(?:\s+price)?|cheaper|cheap|least expensive)\s+(?:first|on top)\b|\bprice:?\s*(?:from\s+)?low(?:est)?\s+to\s+high(?:est)?\b|\bprice\s+ascending\b|\blow\s+to\s+high\b|\bby\s+cheapest\b";
    SORT_BY_PRICE = r"\b(?:sort(?:ed)?|order(?:ed)?)\s+by\s+(?:the\s+)?(?:lowest\s+)?price(?:\s+ascending)?\b";
    SORT_ASC_WORD = r"\b(?:cheaper|lower[- ]priced)\s+(?:ones|options|items|products)\b|\b(?:the\s+)?(?:cheapest|cheap|lowest[- ]priced|least expensive|budget|affordable)\b";
    SORT_DESC = r"\b(?:sort(?:ed)?\s+by\s+)?(?:(?:the\s+)?most expensive|highest(?:\s+price)?|priciest|pricier|expensive)\s+(?:first|on top)\b|\bprice:?\s*(?:from\s+)?high(?:est)?\s+to\s+low(?:est)?\b|\bprice\s+descending\b|\bhigh\s+to\s+low\b";
    SORT_DESC_WORD = r"\b(?:the\s+)?(?:most expensive|priciest|highest[- ]priced|premium)\b";
    SORT_NEW = r"\b(?:sort(?:ed)?\s+by\s+)?(?:newest|latest|most recent|recently added|new arrivals?|new in|just arrived)(?:\s+(?:first|ones|items|products|arrivals))?\b";
    SORT_REL = r"\b(?:sort(?:ed)?\s+by\s+)?(?:relevance|best match(?:es)?|most relevant)(?:\s+first)?\b";
    ZH_SORT_ASC = r"价格?\s*(?:从|由)?\s*低到高|(?:从|由)便宜到贵|价格升序|升序|便宜的?(?:在|排|放)?(?:前面|前|优先)|按价格(?:排序|排)?|最便宜的?|便宜(?:点|一点|些)?的";
    ZH_SORT_DESC = r"价格?\s*(?:从|由)?\s*高到低|(?:从|由)贵到便宜|价格降序|降序|贵的?(?:在|排|放)?(?:前面|前|优先)|最贵的?";
    ZH_SORT_NEW = r"最新(?:上架|款|的)?|新品|新款|上新|新到";
    IN_STOCK = r"\b(?:only\s+)?(?:(?:what'?s|items?|things?|ones?|products?)\s+)?(?:in[- ]stock|available(?:\s+now)?)(?:\s+(?:only|ones|items))?\b";
    ZH_IN_STOCK = r"只看有货的?|只要有货的?|有货的?|有库存的?|现货|库存充足";
}

/// A search order the `search_products` tool accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

impl From<catalog::Sort> for Sort {
    fn from(sort: catalog::Sort) -> Self {
        match sort {
            catalog::Sort::Relevance => Sort::Relevance,
            catalog::Sort::PriceAsc => Sort::PriceAsc,
            catalog::Sort::PriceDesc => Sort::PriceDesc,
            catalog::Sort::Newest => Sort::Newest,
        }
    }
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Newest => "newest",
        }
    }

    pub fn parse(text: &str) -> Option<Sort> {
        match text {
            "relevance" => Some(Sort::Relevance),
            "price_asc" => Some(Sort::PriceAsc),
            "price_desc" => Some(Sort::PriceDesc),
            "newest" => Some(Sort::Newest),
            _ => None,
        }
    }
}

/// What a search message asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchFilters {
    /// The words left once filters and filler are removed (Chinese product words translated when known).
    pub query: String,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    pub sort: Option<Sort>,
    pub in_stock_only: bool,
    /// The shopper asked to see a product ("tell me about X"): when the search finds exactly one, open it.
    pub open_single: bool,
}

impl SearchFilters {
    /// Whether any filter beyond the query was given (a message like "cheapest first" refines the last search).
    pub fn has_filters(&self) -> bool {
        self.min_price.is_some()
            || self.max_price.is_some()
            || self.sort.is_some()
            || self.in_stock_only
    }

    /// What a `search_products` call looked for.
    pub fn searched(args: &SearchArgs) -> Self {
        Self {
            query: args.query.clone().unwrap_or_default(),
            min_price: args
                .min_price
                .as_ref()
                .and_then(|p| p.as_str().parse().ok()),
            max_price: args
                .max_price
                .as_ref()
                .and_then(|p| p.as_str().parse().ok()),
            sort: args.sort.map(Sort::from),
            in_stock_only: args.in_stock_only == Some(true),
            open_single: false,
        }
    }

    /// These filters over an earlier search's: what this message leaves out, the earlier search keeps.
    pub fn refining(&self, earlier: &SearchFilters) -> Self {
        Self {
            query: if self.query.is_empty() {
                earlier.query.clone()
            } else {
                self.query.clone()
            },
            min_price: self.min_price.or(earlier.min_price),
            max_price: self.max_price.or(earlier.max_price),
            sort: self.sort.or(earlier.sort),
            in_stock_only: self.in_stock_only || earlier.in_stock_only,
            open_single: self.open_single,
        }
    }
}

/// Search filters and the remaining query from a search message ("find trail shoes under 80, cheapest first").
pub fn search_filters(t: &str) -> SearchFilters {
    let mut rest = format!(" {t} ");
    let mut filters = SearchFilters::default();

    for re in [
        &EN_RANGE,
        &EN_RANGE_DOLLAR,
        &EN_RANGE_UNIT,
        &EN_RANGE_PRICED,
    ] {
        if let Some(g) = cut(re, &mut rest) {
            filters.min_price = parse_amount(group(&g, 1));
            filters.max_price = parse_amount(group(&g, 2));
            break;
        }
    }
    if filters.max_price.is_none()
        && let Some(g) = cut_zh_range(&mut rest)
    {
        filters.min_price = g.0;
        filters.max_price = g.1;
    }
    if filters.max_price.is_none() {
        for re in [
            &EN_MAX,
            &EN_MAX_SYM,
            &EN_MAX_POST,
            &ZH_MAX_PRE,
            &ZH_MAX_POST,
        ] {
            if let Some(g) = cut(re, &mut rest) {
                filters.max_price = parse_amount(group(&g, 1));
                break;
            }
        }
    }
    if filters.min_price.is_none() {
        for re in [
            &EN_MIN,
            &EN_MIN_SYM,
            &EN_MIN_POST,
            &ZH_MIN_PRE,
            &ZH_MIN_POST,
        ] {
            if let Some(g) = cut(re, &mut rest) {
                filters.min_price = parse_amount(group(&g, 1));
                break;
            }
        }
    }

    let sorts: [(&Re, Sort); 10] = [
        (&SORT_ASC, Sort::PriceAsc),
        (&SORT_DESC, Sort::PriceDesc),
        (&SORT_BY_PRICE, Sort::PriceAsc),
        (&SORT_NEW, Sort::Newest),
        (&SORT_REL, Sort::Relevance),
        (&ZH_SORT_ASC, Sort::PriceAsc),
        (&ZH_SORT_DESC, Sort::PriceDesc),
        (&ZH_SORT_NEW, Sort::Newest),
        (&SORT_DESC_WORD, Sort::PriceDesc),
        (&SORT_ASC_WORD, Sort::PriceAsc),
    ];
    for (re, sort) in sorts {
        if cut(re, &mut rest).is_some() {
            filters.sort = Some(sort);
            break;
        }
    }
    if cut(&IN_STOCK, &mut rest).is_some() || cut(&ZH_IN_STOCK, &mut rest).is_some() {
        filters.in_stock_only = true;
    }
    filters.query = clean_query(&rest);
    filters
}

/// A Chinese price range ("50到100元", "价格在50-100之间"). A bare "42-44" is no price, so the match must carry a
/// currency word, "之间" or "价".
fn cut_zh_range(rest: &mut String) -> Option<(Option<f64>, Option<f64>)> {
    let caps = captures(&ZH_RANGE, rest)?;
    let whole = caps.get(0)?;
    let matched = whole.as_str();
    let priced = ["元", "块", "美元", "美金", "刀", "之间", "价"]
        .iter()
        .any(|w| matched.contains(w));
    if !priced {
        return None;
    }
    let low = caps.get(1).and_then(|m| parse_amount(m.as_str()));
    let high = caps.get(2).and_then(|m| parse_amount(m.as_str()));
    let range = whole.range();
    rest.replace_range(range, " ");
    Some((low, high))
}
