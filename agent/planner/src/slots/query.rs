//! The query a search is left with: filler words dropped, Chinese product words translated to the catalogue's
//! English. Mostly word lists.

use crate::text;

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
