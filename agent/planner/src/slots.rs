//! Slot extraction: pure functions from a user message (normalised with [`normalize`]) to the values a tool
//! needs: search filters and the query left once they are removed, a reference to an item of a list shown
//! earlier ("the second one", "第二个", "the cheaper one"), a quantity, an order id, option words ("blue 42",
//! "蓝色 42码") and order-status filters. Extractors that consume text cut what they matched, so what remains
//! is the free text (a query, option words, a title).
//!
//! [`normalize`]: super::text::normalize

use std::collections::BTreeSet;

use super::text::{self, Re, ascii_words, captures, cut, found, group, parse_amount, parse_count};

/// A search order the `search_products` tool accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
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
}

/// Which item of a list shown earlier the shopper means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// 1-based position: "the second one", "#2", "第二个".
    Ordinal(usize),
    Last,
    Cheapest,
    Priciest,
    /// "it", "this one", "那个": the product in focus.
    This,
}

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

    SORT_FIRST = r"\b(?:cheapest|cheap|newest|latest|expensive|lowest price|highest price|relevant)\s+first\b";
    REF_ORD_WORD = r"\b(?:the\s+)?(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)(?:\s+(?:one|ones|item|result|product|option|choice|coupon|line|entry|pair|variant|order))?\b";
    REF_ORD_NUM = r"(?:#\s*|\b(?:number|no\.?|item|result|option|product|choice|line|coupon)\s*#?\s*)(\d{1,2})\b";
    REF_ORD_SUFFIX = r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b(?:\s+(?:one|item|result|product|option))?";
    REF_ZH_ORD = r"第\s*(\d{1,2}|[一二两三四五六七八九十]+)\s*(?:个|件|款|项|条|种|双|张|号|名|套|只|把|台|本|份|行|支|顶)?(?:商品|产品|结果|优惠券|选项)?";
    REF_LAST = r"\b(?:the\s+)?(?:last|latter|final|bottom)(?:\s+(?:one|item|result|product|option|coupon))?\b";
    REF_ZH_LAST = r"最后(?:一|那)?(?:个|件|款|双|项|条)?|最后面的?|最下面的?";
    REF_CHEAP = r"\b(?:the\s+)?(?:cheap(?:er|est)|less expensive|least expensive|lower[- ]priced|lowest[- ]priced|most affordable)(?:\s+(?:one|item|option|of (?:them|these|those|the two|all)))?\b";
    CHEAPER_PLURAL = r"\b(?:cheaper|lower[- ]priced|less expensive)\s+(?:ones|options|items|products)\b";
    REF_PRICEY = r"\b(?:the\s+)?(?:more expensive|most expensive|pricier|priciest|higher[- ]priced|highest[- ]priced)(?:\s+(?:one|ones|item|option|of (?:them|these|those|the two|all)))?\b";
    REF_ZH_CHEAP = r"(?:最)?便宜(?:的|点的|一点的|些的)?(?:那个|那款|那件|那双|那一个|那一款|一个|一款|那条)|^(?:要|我要)?(?:最)?便宜的?$";
    REF_ZH_PRICEY = r"(?:最)?贵(?:的|点的|一点的)?(?:那个|那款|那件|那双|那一个|那一款|一个|一款|那条)|^(?:要|我要)?最贵的?$";
    REF_THIS = r"\b(?:this|that)(?:\s+one)?\b|\bit\b|\bthem\b";
    REF_ZH_THIS = r"这个|那个|这款|那款|这件|那件|这双|那双|它|这一个|那一个|这条|那条";

    QTY_EN_OF = r"\b(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|a couple)\s*(?:x\b|×|of\b|pairs?\b|pieces?\b|pcs\b|units?\b|items?\b|copies\b|more\b)";
    QTY_EN_X = r"(?:\bx|×|\*)\s*(\d{1,3})\b";
    QTY_EN_WORD = r"\b(?:qty|quantity|amount)\s*(?:of|:|=|to|is)?\s*(\d{1,3})\b";
    QTY_EN_VERB = r"\b(?:add|buy|get|take|order)\s+(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:to|into|in|more)\b";
    QTY_ZH = r"(第)?\s*(\d{1,3}|[一二两三四五六七八九十]+)\s*(?:件|个|双|份|条|只|套|瓶|盒|包|台|顶|把|本|张|支|副)";
    QTY_EN_TO = r"\bto\s+(\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten)\b|\b(?:make|set)\s+(?:it|that|them)\s+(\d{1,3})\b";
    QTY_ZH_TO = r"(?:数量|改成|改为|改到|设为|设成|变成|换成)\s*(?:为|成|到)?\s*(\d{1,3}|[一二两三四五六七八九十]+)";

    ORDER_ID = r"\bord_[A-Za-z0-9_-]+";
    CARD_LAST4 = r"(?:ending(?:\s+in|\s+with)?|last\s+(?:4|four)(?:\s+digits)?|尾号|末四位|后四位)\s*(?:is\s+)?(\d{4})\b";
    UNIT_EN = r"\b(\d+)\s+(cm|ml|kg|mm|l)\b";
    UNIT_ZH = r"(\d+)\s*(厘米|公分|毫升|公斤|千克)";
    BLUETOOTH = r"蓝牙";
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

/// English words that never belong in a product query.
const EN_FILLER: &[&str] = &[
    "tell",
    "find",
    "search",
    "searching",
    "for",
    "show",
    "me",
    "look",
    "looking",
    "i",
    "want",
    "wanna",
    "need",
    "would",
    "like",
    "to",
    "see",
    "get",
    "some",
    "any",
    "a",
    "an",
    "the",
    "please",
    "pls",
    "can",
    "could",
    "you",
    "do",
    "have",
    "got",
    "something",
    "anything",
    "stuff",
    "items",
    "item",
    "products",
    "product",
    "things",
    "sort",
    "sorted",
    "by",
    "with",
    "that",
    "are",
    "is",
    "only",
    "filter",
    "results",
    "result",
    "just",
    "let",
    "browse",
    "shop",
    "shopping",
    "price",
    "prices",
    "priced",
    "cost",
    "costs",
    "costing",
    "which",
    "what",
    "also",
    "there",
    "in",
    "hey",
    "hi",
    "hello",
    "ok",
    "okay",
    "give",
    "list",
    "all",
    "your",
    "of",
    "ones",
    "one",
    "now",
    "today",
    "us",
    "usd",
    "dollars",
    "dollar",
    "bucks",
    "and",
    "or",
    "buy",
    "purchase",
    "add",
    "put",
    "cart",
    "my",
    "into",
    "recommend",
    "suggest",
    "sell",
    "carry",
    "stock",
    "available",
    "good",
    "nice",
    "new",
    "ones",
    "we",
    "our",
    "how",
    "about",
    "some",
    "more",
    "else",
    "other",
    "them",
    "it",
    "first",
    "d",
    "m",
    "s",
    "ll",
    "re",
    "ve",
];

/// Chinese filler removed from a query, longest first so "给我看看" goes before "看看".
const ZH_FILLER: &[&str] = &[
    "加入购物车",
    "加到购物车",
    "放进购物车",
    "购物车",
    "给我看一下",
    "给我看看",
    "推荐几款",
    "推荐一下",
    "搜索一下",
    "我想要",
    "我想买",
    "我要买",
    "我想找",
    "我要找",
    "请帮我",
    "给我找",
    "有没有",
    "有什么",
    "有哪些",
    "找一下",
    "找一找",
    "你们",
    "帮我",
    "给我",
    "想要",
    "想买",
    "想找",
    "我想",
    "我要",
    "找找",
    "搜一下",
    "搜索",
    "看一下",
    "看看",
    "推荐",
    "一些",
    "一下",
    "几款",
    "几个",
    "一双",
    "一件",
    "一个",
    "一款",
    "价格",
    "块钱",
    "只看",
    "只要",
    "排序",
    "显示",
    "商品",
    "东西",
    "购买",
    "请",
    "加入",
    "加到",
    "放进",
    "找",
    "搜",
    "把",
    "的",
    "吗",
    "呢",
    "吧",
    "啊",
    "呀",
    "元",
    "块",
    "按",
    "我",
    "你",
    "有",
    "买",
    "要",
    "些",
    "款",
];

/// Common Chinese product words and the English words the catalogue uses, longest first.
const ZH_GLOSSARY: &[(&str, &str)] = &[
    ("越野跑鞋", "trail shoes"),
    ("无线耳机", "wireless earbuds"),
    ("蓝牙耳机", "wireless earbuds"),
    ("头戴耳机", "over ear headphones"),
    ("蓝牙音箱", "bluetooth speaker"),
    ("铸铁锅", "cast iron skillet"),
    ("不粘锅", "nonstick pan"),
    ("法压壶", "french press"),
    ("手冲壶", "pour over kettle"),
    ("登山杖", "trekking poles"),
    ("瑜伽垫", "yoga mat"),
    ("瑜伽砖", "yoga block"),
    ("瑜伽带", "yoga strap"),
    ("越野鞋", "trail shoes"),
    ("徒步鞋", "trail shoes"),
    ("运动鞋", "sneakers"),
    ("休闲鞋", "sneakers"),
    ("帆布鞋", "canvas sneakers"),
    ("冲锋衣", "rain shell"),
    ("羽绒服", "puffer jacket"),
    ("抓绒衣", "fleece jacket"),
    ("徒步裤", "hiking pants"),
    ("慢跑裤", "jogger"),
    ("充电宝", "power bank"),
    ("充电器", "charger"),
    ("手机壳", "phone case"),
    ("双肩包", "daypack"),
    ("防晒霜", "sunscreen"),
    ("保湿霜", "moisturizer"),
    ("润唇膏", "lip balm"),
    ("笔记本", "notebook"),
    ("速写本", "sketchbook"),
    ("弹力带", "resistance bands"),
    ("自行车", "bike"),
    ("跑鞋", "running shoes"),
    ("球鞋", "sneakers"),
    ("鞋子", "shoes"),
    ("夹克", "jacket"),
    ("外套", "jacket"),
    ("抓绒", "fleece"),
    ("短袖", "tee"),
    ("背心", "tank"),
    ("长袖", "long sleeve"),
    ("裤子", "pants"),
    ("帐篷", "tent"),
    ("睡袋", "sleeping bag"),
    ("炉头", "stove"),
    ("背包", "daypack"),
    ("水袋", "hydration bladder"),
    ("岩粉袋", "chalk bag"),
    ("安全带", "harness"),
    ("耳机", "headphones"),
    ("音箱", "speaker"),
    ("音响", "speaker"),
    ("插座", "smart plug"),
    ("灯泡", "smart bulb"),
    ("门铃", "doorbell"),
    ("煎锅", "pan"),
    ("水壶", "kettle"),
    ("茶具", "tea set"),
    ("毯子", "throw"),
    ("花瓶", "vase"),
    ("台灯", "lamp"),
    ("面霜", "moisturizer"),
    ("精华", "serum"),
    ("唇膏", "lip balm"),
    ("眉笔", "brow pencil"),
    ("腮红", "blush"),
    ("哑铃", "dumbbell"),
    ("壶铃", "kettlebell"),
    ("头盔", "helmet"),
    ("手套", "gloves"),
    ("车灯", "bike light"),
    ("本子", "notebook"),
    ("钢笔", "fountain pen"),
    ("马克笔", "marker"),
    ("中性笔", "gel pen"),
    ("T恤", "tee"),
    ("t恤", "tee"),
    ("鞋", "shoes"),
    ("锅", "pan"),
    ("笔", "pen"),
];

/// The query left in `rest`: English filler dropped, Chinese filler removed and Chinese product words
/// translated when every character of a Chinese run is known (otherwise the run is kept as written).
pub fn clean_query(rest: &str) -> String {
    let mut words = Vec::new();
    for piece in split_scripts(rest) {
        match piece {
            Piece::Latin(segment) => {
                for word in segment.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
                {
                    let word = word.trim_matches(|c: char| c == '-' || c == '\'');
                    let bare = word.trim_end_matches("'s");
                    // "i'm", "we're", "let's": filler; "men's" stays.
                    let head = word.split('\'').next().unwrap_or(word);
                    let contraction = word.contains('\'') && EN_FILLER.contains(&head);
                    let filler =
                        EN_FILLER.contains(&word) || EN_FILLER.contains(&bare) || contraction;
                    if !word.is_empty() && !filler {
                        words.push(word.to_owned());
                    }
                }
            }
            Piece::Cjk(segment) => {
                let mut segment = segment;
                for filler in ZH_FILLER {
                    segment = segment.replace(filler, " ");
                }
                for run in segment.split_whitespace() {
                    words.push(translate_zh(run));
                }
            }
        }
    }
    words.retain(|w| !w.is_empty());
    words.join(" ")
}

enum Piece {
    Latin(String),
    Cjk(String),
}

/// Splits text into runs of Chinese characters and runs of everything else.
fn split_scripts(text: &str) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    for c in text.chars() {
        let cjk = text::is_cjk(c);
        match pieces.last_mut() {
            Some(Piece::Cjk(s)) if cjk => s.push(c),
            Some(Piece::Latin(s)) if !cjk => s.push(c),
            _ if cjk => pieces.push(Piece::Cjk(c.to_string())),
            _ => pieces.push(Piece::Latin(c.to_string())),
        }
    }
    pieces
}

/// Translates a run of Chinese product words with the glossary, or keeps it when any part is unknown.
fn translate_zh(run: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut rest = run;
    'outer: while !rest.is_empty() {
        for (zh, en) in ZH_GLOSSARY {
            if let Some(after) = rest.strip_prefix(zh) {
                out.push(en);
                rest = after;
                continue 'outer;
            }
        }
        return run.to_owned();
    }
    out.join(" ")
}

/// Removes and returns a reference to a listed item. Sort phrases such as "cheapest first" are dropped first so
/// their "first" is not read as an ordinal.
pub fn cut_reference(text: &mut String) -> Option<Reference> {
    while cut(&SORT_FIRST, text).is_some() {}
    for re in [&REF_ORD_WORD, &REF_ORD_NUM, &REF_ORD_SUFFIX, &REF_ZH_ORD] {
        if let Some(g) = cut(re, text) {
            let word = group(&g, 1);
            let n = text::parse_ordinal_word(word)
                .or_else(|| parse_count(word).and_then(|n| usize::try_from(n).ok()));
            if let Some(n) = n.filter(|n| *n > 0) {
                return Some(Reference::Ordinal(n));
            }
        }
    }
    let others: [(&Re, Reference); 8] = [
        (&REF_LAST, Reference::Last),
        (&REF_ZH_LAST, Reference::Last),
        (&REF_CHEAP, Reference::Cheapest),
        (&REF_ZH_CHEAP, Reference::Cheapest),
        (&REF_PRICEY, Reference::Priciest),
        (&REF_ZH_PRICEY, Reference::Priciest),
        (&REF_THIS, Reference::This),
        (&REF_ZH_THIS, Reference::This),
    ];
    for (re, reference) in others {
        // "cheaper ones" asks for a cheaper search, not for the cheaper item.
        if reference == Reference::Cheapest && found(&CHEAPER_PLURAL, text) {
            continue;
        }
        if cut(re, text).is_some() {
            return Some(reference);
        }
    }
    None
}

/// Removes and returns a quantity ("2 of", "x2", "qty 3", "两件"); a Chinese count after "第" is an ordinal,
/// not a quantity.
pub fn cut_quantity(text: &mut String) -> Option<u32> {
    if let Some(n) = cut_count_of(text) {
        return Some(n);
    }
    for re in [&QTY_EN_X, &QTY_EN_WORD, &QTY_EN_VERB] {
        if let Some(n) = cut(re, text).and_then(|g| parse_count(group(&g, 1))) {
            return Some(n);
        }
    }
    let re = QTY_ZH.as_ref()?;
    let found = re.captures_iter(text).find_map(|caps| {
        if caps.get(1).is_some() {
            return None;
        }
        let n = parse_count(caps.get(2)?.as_str())?;
        Some((caps.get(0)?.range(), n))
    });
    let (range, n) = found?;
    text.replace_range(range, " ");
    Some(n)
}

/// "2 of", "two pairs", "3 pcs": a count before a counting word. A number right after "in" or "size" is a size
/// ("the blue one in 42 of the second result"), not a count.
fn cut_count_of(text: &mut String) -> Option<u32> {
    const SIZE_WORDS: &[&str] = &["in", "size", "sz", "eu", "us", "uk"];
    let re = QTY_EN_OF.as_ref()?;
    let found = re.captures_iter(text).find_map(|caps| {
        let whole = caps.get(0)?;
        let before = text[..whole.start()]
            .split_whitespace()
            .next_back()
            .unwrap_or("");
        if SIZE_WORDS.contains(&before) {
            return None;
        }
        let n = parse_count(caps.get(1)?.as_str())?;
        Some((whole.range(), n))
    });
    let (range, n) = found?;
    text.replace_range(range, " ");
    Some(n)
}

/// The quantity a "change the quantity" message asks for: "to 3", "make it 3", "改成3件", "数量改为三".
pub fn target_quantity(text: &mut String) -> Option<u32> {
    for re in [&QTY_EN_TO, &QTY_ZH_TO] {
        if let Some(g) = cut(re, text) {
            let word = if group(&g, 1).is_empty() {
                group(&g, 2)
            } else {
                group(&g, 1)
            };
            if let Some(n) = parse_count(word) {
                return Some(n);
            }
        }
    }
    cut_quantity(text)
}

/// An order id the shopper typed ("ord_…"), from the raw text so its case is kept.
pub fn order_id(raw: &str) -> Option<String> {
    captures(&ORDER_ID, raw)
        .and_then(|c| c.get(0))
        .map(|m| m.as_str().to_owned())
}

/// The last four digits of a card the shopper named ("the card ending 4242", "尾号4242").
pub fn card_last4(t: &str) -> Option<String> {
    captures(&CARD_LAST4, t)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_owned())
}

/// The order status a "my orders" message filters on.
pub fn order_status_filter(t: &str) -> Option<&'static str> {
    const FILTERS: &[(&[&str], &str)] = &[
        (
            &[
                "unpaid",
                "pending",
                "not paid",
                "awaiting payment",
                "待付款",
                "未付款",
                "没付款",
                "待支付",
            ],
            "pending_payment",
        ),
        (&["cancelled", "canceled", "已取消"], "cancelled"),
        (&["delivered", "已送达", "已签收"], "delivered"),
        (&["completed", "finished", "已完成"], "completed"),
        (&["shipped", "on the way", "已发货", "运输中"], "shipped"),
        (&["paid", "已付款", "已支付"], "paid"),
    ];
    let words = ascii_words(t);
    FILTERS.iter().find_map(|(keys, status)| {
        keys.iter()
            .any(|k| {
                if k.is_ascii() && !k.contains(' ') {
                    words.iter().any(|w| w == k)
                } else {
                    t.contains(k)
                }
            })
            .then_some(*status)
    })
}

/// Chinese colour and size words and English size words, with the option values they stand for.
const OPTION_SYNONYMS: &[(&str, &str)] = &[
    ("黑", "black"),
    ("蓝", "blue"),
    ("红", "red"),
    ("灰", "grey"),
    ("绿", "green"),
    ("白", "white"),
    ("黄", "yellow"),
    ("紫", "purple"),
    ("橙", "orange"),
    ("粉", "pink"),
    ("棕", "brown"),
    ("铜", "copper"),
    ("玫瑰", "rose"),
    ("珊瑚", "coral"),
    ("莓", "berry"),
    ("裸色", "nude"),
    ("加大", "xl"),
    ("特大", "xl"),
    ("特小", "xs"),
    ("加小", "xs"),
    ("大号", "l"),
    ("大码", "l"),
    ("中号", "m"),
    ("中码", "m"),
    ("小号", "s"),
    ("小码", "s"),
    ("多色", "assorted"),
    ("混色", "assorted"),
];

const EN_SIZE_WORDS: &[(&str, &str)] = &[
    ("extra large", "xl"),
    ("x-large", "xl"),
    ("xlarge", "xl"),
    ("extra small", "xs"),
    ("x-small", "xs"),
    ("large", "l"),
    ("medium", "m"),
    ("small", "s"),
    ("gray", "grey"),
];

/// The words of a message that can name a variant option: ASCII words ("blue", "42", "20cm"), English size
/// words as letters ("large" -> "l"), and Chinese colours and sizes as the English values the catalogue uses.
pub fn option_tokens(t: &str) -> BTreeSet<String> {
    let mut text = t.to_owned();
    while cut(&BLUETOOTH, &mut text).is_some() {}
    if let Some(re) = UNIT_EN.as_ref() {
        text = re.replace_all(&text, "$1$2").into_owned();
    }
    if let Some(re) = UNIT_ZH.as_ref() {
        text = re
            .replace_all(&text, |caps: &regex::Captures<'_>| {
                let unit = match caps.get(2).map(|m| m.as_str()) {
                    Some("毫升") => "ml",
                    Some("公斤" | "千克") => "kg",
                    _ => "cm",
                };
                format!(" {}{unit} ", caps.get(1).map(|m| m.as_str()).unwrap_or(""))
            })
            .into_owned();
    }
    let mut tokens: BTreeSet<String> = ascii_words(&text).into_iter().collect();
    for (word, value) in EN_SIZE_WORDS {
        if found_word(&text, word) {
            tokens.insert((*value).to_owned());
        }
    }
    for (word, value) in OPTION_SYNONYMS {
        if text.contains(word) {
            tokens.insert((*value).to_owned());
        }
    }
    tokens
}

/// Colour words a shopper may use for a variant.
const COLOURS: &[&str] = &[
    "black", "blue", "red", "grey", "green", "white", "yellow", "purple", "orange", "pink",
    "brown", "beige", "navy", "copper", "silver", "gold", "rose", "coral", "berry", "nude",
    "assorted",
];

/// Words of a message that look like a colour or a size ("yellow", "42", "xl"), whether or not the product
/// has them: a named option the product lacks is reported instead of ignored.
pub fn option_like_words(t: &str) -> BTreeSet<String> {
    const SIZES: &[&str] = &["xs", "xl", "xxl"];
    option_tokens(t)
        .into_iter()
        .filter(|w| {
            COLOURS.contains(&w.as_str())
                || SIZES.contains(&w.as_str())
                || (w.len() >= 2 && w.len() <= 3 && w.chars().all(|c| c.is_ascii_digit()))
        })
        .collect()
}

/// Whether `word` occurs in `text` with no ASCII letter or digit on either side.
pub fn found_word(text: &str, word: &str) -> bool {
    let mut start = 0;
    while let Some(pos) = text[start..].find(word) {
        let at = start + pos;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !alnum(before) && !alnum(after) {
            return true;
        }
        start = at + word.len();
    }
    false
}

/// The option values among `values` that the message names: a one-word value must be one of the message's
/// option tokens, a longer value must appear as a phrase.
pub fn mentioned_values(t: &str, values: &BTreeSet<String>) -> BTreeSet<String> {
    let tokens = option_tokens(t);
    values
        .iter()
        .filter(|value| {
            let words = ascii_words(value);
            if value.is_ascii() && words.len() == 1 {
                words.first().is_some_and(|w| tokens.contains(w))
                    || numeric_part(value).is_some_and(|n| tokens.contains(n))
            } else if value.is_ascii() {
                found_word(t, value)
            } else {
                t.contains(value.as_str())
            }
        })
        .cloned()
        .collect()
}

/// The number of a value with a unit ("24cm" -> "24", "50ml" -> "50"), so "the 24" names "24cm".
pub fn numeric_part(value: &str) -> Option<&str> {
    let end = value.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = value.split_at(end);
    (!number.is_empty() && unit.chars().all(|c| c.is_ascii_alphabetic())).then_some(number)
}

/// The values of a variant's "options" text ("colour: blue, size: 42" -> {"blue", "42"}), lower case.
pub fn option_values(options: &str) -> BTreeSet<String> {
    options
        .split([',', ';', '/', '，'])
        .filter_map(|part| {
            let value = part
                .rsplit(':')
                .next()
                .unwrap_or(part)
                .trim()
                .to_lowercase();
            (!value.is_empty()).then_some(value)
        })
        .collect()
}

/// Whether the text names a word such as a coupon code, case-insensitively and as a whole word.
pub fn mentions(t: &str, word: &str) -> bool {
    let word = word.to_lowercase();
    !word.is_empty() && found_word(t, &word)
}

/// An item of a list shown earlier, as the shopper described it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemRequest {
    pub reference: Option<Reference>,
    pub quantity: Option<u32>,
    /// The normalised message with the reference and quantity cut: option words ("blue 42"), title words, a
    /// coupon code, or a product query when nothing was shown yet.
    pub text: String,
}

impl ItemRequest {
    /// Cuts the reference and the quantity from a normalised message.
    pub fn parse(t: &str) -> ItemRequest {
        let mut text = t.to_owned();
        let reference = cut_reference(&mut text);
        let quantity = cut_quantity(&mut text);
        ItemRequest {
            reference,
            quantity,
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    #[test]
    fn patterns_compile() {
        for (name, re) in ALL_PATTERNS {
            assert!(
                std::sync::LazyLock::force(re).is_some(),
                "{name} does not compile"
            );
        }
    }

    #[test]
    fn english_filters() {
        let f = search_filters(&normalize("find trail shoes under 80"));
        assert_eq!(f.query, "trail shoes");
        assert_eq!(f.max_price, Some(80.0));
        let f = search_filters(&normalize(
            "show me jackets between 50 and 100, cheapest first",
        ));
        assert_eq!(
            (f.query.as_str(), f.min_price, f.max_price),
            ("jackets", Some(50.0), Some(100.0))
        );
        assert_eq!(f.sort, Some(Sort::PriceAsc));
        let f = search_filters(&normalize("newest headphones in stock only"));
        assert_eq!(
            (f.query.as_str(), f.sort, f.in_stock_only),
            ("headphones", Some(Sort::Newest), true)
        );
        let f = search_filters(&normalize("show me headphones sorted by price high to low"));
        assert_eq!(
            (f.query.as_str(), f.sort),
            ("headphones", Some(Sort::PriceDesc))
        );
        let f = search_filters(&normalize("I'm looking for men's jackets, sort by price"));
        assert_eq!(
            (f.query.as_str(), f.sort),
            ("men's jackets", Some(Sort::PriceAsc))
        );
        let f = search_filters(&normalize("I want some tents over $79.90 please"));
        assert_eq!((f.query.as_str(), f.min_price), ("tents", Some(79.9)));
    }

    #[test]
    fn chinese_filters() {
        let f = search_filters(&normalize("找80元以下的跑鞋"));
        assert_eq!(
            (f.query.as_str(), f.max_price),
            ("running shoes", Some(80.0))
        );
        let f = search_filters(&normalize(
            "给我看看50到100元之间的夹克，价格从低到高，有货的",
        ));
        assert_eq!((f.min_price, f.max_price), (Some(50.0), Some(100.0)));
        assert_eq!(
            (f.query.as_str(), f.sort, f.in_stock_only),
            ("jacket", Some(Sort::PriceAsc), true)
        );
        let f = search_filters(&normalize("我想要八十块以内的帐篷"));
        assert_eq!((f.query.as_str(), f.max_price), ("tent", Some(80.0)));
        let f = search_filters(&normalize("有没有手机支架"));
        assert_eq!(f.query, "手机支架");
    }

    #[test]
    fn references_and_quantities() {
        let mut t = normalize("add 2 of the second one");
        assert_eq!(cut_reference(&mut t), Some(Reference::Ordinal(2)));
        assert_eq!(cut_quantity(&mut t), Some(2));
        let mut t = normalize("把第二个加两件到购物车");
        assert_eq!(cut_reference(&mut t), Some(Reference::Ordinal(2)));
        assert_eq!(cut_quantity(&mut t), Some(2));
        let mut t = normalize("#3 x4");
        assert_eq!(cut_reference(&mut t), Some(Reference::Ordinal(3)));
        assert_eq!(cut_quantity(&mut t), Some(4));
        let mut t = normalize("the cheaper one");
        assert_eq!(cut_reference(&mut t), Some(Reference::Cheapest));
        let mut t = normalize("便宜的那个");
        assert_eq!(cut_reference(&mut t), Some(Reference::Cheapest));
        let mut t = normalize("最后一个");
        assert_eq!(cut_reference(&mut t), Some(Reference::Last));
        let mut t = normalize("cheapest first");
        assert_eq!(cut_reference(&mut t), None);
        let mut t = normalize("change the quantity to 3");
        assert_eq!(target_quantity(&mut t), Some(3));
        let mut t = normalize("数量改成三件");
        assert_eq!(target_quantity(&mut t), Some(3));
    }

    #[test]
    fn options() {
        let values: BTreeSet<String> = ["blue", "red", "42", "43", "l", "s"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = mentioned_values(&normalize("the blue one in 42, men's"), &values);
        assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["42", "blue"]);
        let m = mentioned_values(&normalize("蓝色 42码 大号"), &values);
        assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["42", "blue", "l"]);
        let m = mentioned_values(&normalize("蓝牙耳机"), &values);
        assert!(m.is_empty());
        let pans: BTreeSet<String> = ["20cm", "24cm"].iter().map(|s| s.to_string()).collect();
        let m = mentioned_values(&normalize("the 24 one"), &pans);
        assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["24cm"]);
        let m = mentioned_values(&normalize("20 cm"), &pans);
        assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["20cm"]);
        assert_eq!(
            option_values("colour: blue, size: 42")
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["42", "blue"]
        );
        assert_eq!(
            order_status_filter("my unpaid orders"),
            Some("pending_payment")
        );
        assert_eq!(
            order_id("where is ord_01ABC?"),
            Some("ord_01ABC".to_owned())
        );
    }
}
