//! References to what was shown ("the second one", "第二个", "the cheaper one", "it"), quantities, order ids,
//! card digits and order-status filters; and an item request built from them.

use crate::text::{self, Re, ascii_words, captures, cut, found, group, parse_count};

patterns! {
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
