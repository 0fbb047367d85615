//! Intent detection: a pure function from the latest user message to what the shopper wants and its slots.
//! Checks run from the most specific to the most general (refusals first, then account and order actions,
//! then product actions, then search), so "add it to my cart" is an add and not a cart view, and "cancel my
//! order" is a cancellation and not an order list. Only user messages are ever read here: text inside tool
//! results (a product description, a seller's note) can never become an intent.
//!
//! A little over 500 lines on purpose: the patterns are listed once, next to the checks that try them in order,
//! so the order that decides between intents reads in one place.

use super::slots::{self, ItemRequest, Reference, SearchFilters};
use super::social::{self, Social};
use super::text::{Re, cut, found, normalize};

/// What the latest user message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Greeting,
    Thanks,
    Help,
    /// "yes", "ok", "是": a confirmation with nothing pending (pending ones never reach the planner).
    Affirm,
    /// "no", "never mind", "算了" with nothing pending.
    Deny,
    /// A request about someone else's orders or account: refused without calling a tool.
    OtherUser,
    /// Poems, weather, news...: not a shopping request.
    OutOfScope,
    /// A shopping request this planner cannot carry out.
    Unsupported(Unsupported),
    Search(SearchFilters),
    /// Show one product's details.
    Show(ItemRequest),
    Add(ItemRequest),
    /// Buy one product directly: checkout with `items`.
    Buy(ItemRequest),
    ViewCart,
    Remove(ItemRequest),
    SetQuantity(ItemRequest, u32),
    ClearCart,
    /// Check out the whole cart. `from_buy` when the shopper said "buy it": with a product in focus and no cart
    /// activity since, that product is bought directly. `text` carries a coupon code if one was named.
    Checkout {
        text: String,
        from_buy: bool,
    },
    Pay {
        method: PayMethod,
        order_id: Option<String>,
    },
    OrderStatus {
        order_id: Option<String>,
    },
    ListOrders {
        status: Option<&'static str>,
    },
    CancelOrder {
        order_id: Option<String>,
    },
    ConfirmReceipt {
        order_id: Option<String>,
    },
    Wallet,
    Addresses,
    PaymentMethods,
    Profile,
    Categories,
    /// Following, profiles, likes, favorites, comments, feeds and direct messages.
    Social(Social),
    /// Coupons for a product ("any coupons for the second one?").
    ProductCoupons(ItemRequest),
    MyCoupons,
    ClaimCoupon(ItemRequest),
    Unknown,
}

/// Things a shopper may ask for that the planner does not do; each gets a plain explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    Return,
    ChangeAddress,
    AddAddress,
    TopUp,
    AddCard,
    Review,
}

/// How the shopper wants to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayMethod {
    Wallet,
    Card {
        last4: Option<String>,
    },
    /// No method named: the wallet.
    Unspecified,
}

patterns! {
    OTHER_USER_POSSESSIVE = r"\b([a-z0-9_.@-]+)'s\s+(?:orders?|cart|account|wallet|address(?:es)?|payments?|cards?|balance|coupons?|purchases?|history|details|password|email|messages?|inbox|dms?|direct\s+messages|chats?|conversations?|favou?rites|wish\s*list)\b";
    // "messages between bruno and carla": a conversation the shopper is not part of.
    OTHER_USER_BETWEEN = r"\b(?:messages?|chats?|conversations?|dms?)\b.*\bbetween\s+@?([a-z0-9_.-]+)\s+and\s+@?([a-z0-9_.-]+)";
    OTHER_USER_BETWEEN_ZH = r"([a-z0-9_.-]+)\s*(?:和|跟|与)\s*([a-z0-9_.-]+)\s*(?:之间)?的(?:聊天|对话|消息|私信)";
    OTHER_USER_INBOX_ZH = r"[a-z0-9_.-]+\s*的(?:收件箱|收藏|聊天记录)";
    OTHER_USER_FOR = r"\b(?:orders?|cart|wallet|account|balance|address(?:es)?|payment\s+methods|coupons)\s+(?:of|for|belonging\s+to)\s+([a-z0-9_.@-]+)";
    OTHER_USER_EN = r"\b(?:another|other|different|some other)\s+(?:user|customer|person|shopper|account|buyer)s?\b|\bsomeone\s+else'?s?\b|\bsomebody\s+else'?s?\b|\b(?:log|sign)(?:ged)?\s*in\s+as\b|\bimpersonate\b|\ball\s+(?:users|customers)\b|\beveryone'?s\b|\b(?:orders?|cart|account|wallet|addresses|balance)\s+(?:of|for|from|belonging to)\s+(?:user|customer|account)\b|\b(?:user|customer|account)\s+(?:named\s+|called\s+)?@?[a-z0-9_]+'?s?\s+(?:orders?|cart|wallet|balance|address(?:es)?)\b|\bmy\s+(?:friend|wife|husband|mom|mother|dad|father|brother|sister|son|daughter|boss|colleague|roommate|neighbou?r|partner)'?s?\s+(?:orders?|cart|account|wallet|address(?:es)?|balance|cards?)\b";
    // "am I logged in as", "which account is this": the shopper asking about their own session.
    SELF_SESSION = r"\b(?:am\s+i|i\s+am|i'm)\s+(?:currently\s+|still\s+)?(?:logged|signed)\s+in\s+as\b|\bwhich\s+account\b";
    // "his wallet", "her orders": a third person's account.
    OTHER_USER_PRONOUN = r"\b(?:his|her|their)\s+(?:orders?|cart|account|wallet|address(?:es)?|balance|cards?|payments?|purchases?|coupons?)\b";
    // "bruno的订单": a username's account, in Chinese.
    OTHER_USER_NAMED_ZH = r"[a-z0-9_.@-]+\s*的(?:订单|购物车|账户|账号|钱包|地址|余额|优惠券|收货地址)";
    OTHER_USER_ZH = r"别人|他人|其他用户|其他人|别的用户|另一个用户|其他账号|(?:他|她)的(?:订单|购物车|账户|账号|钱包|地址|余额|优惠券)|用户\s*\S+?\s*的(?:订单|购物车|账户|账号|钱包|地址|余额)|(?:朋友|老婆|老公|妻子|丈夫|妈妈|爸爸|父母|同事|室友|家人|邻居|同学)的(?:订单|购物车|账户|账号|钱包|地址|余额)";
    OUT_OF_SCOPE_EN = r"\b(?:poem|poetry|haiku|limerick|sonnet|lyrics|horoscope|jokes?|riddle)\b|\b(?:tell|give)\s+me\s+a\s+(?:story|fun fact)\b|\b(?:what'?s|what is|how'?s|how is)\s+the\s+weather\b|\bweather\s+(?:forecast|today|tomorrow|like|in)\b|\bforecast\b|\b(?:news|headlines|stock price|bitcoin|crypto|election|recipe|homework|meaning of life|sports? scores?)\b|\btranslate\b|\bwrite\s+(?:me\s+)?(?:a|an|some|my)?\s*(?:essay|code|program|script|letter|email|story|song|article|poem|cover letter)\b|\b(?:who|what)\s+(?:is|was|are)\s+(?:the\s+)?(?:president|prime minister|capital|tallest|largest)\b|\b\d+\s*[+*/]\s*\d+\b|\b(?:plus|times|minus|divided by)\s+\d";
    OUT_OF_SCOPE_ZH = r"诗|写.{0,4}(?:文章|作文|故事|歌词|小说)|天气|笑话|讲个故事|讲故事|新闻|股价|股票|翻译|作业|菜谱|食谱|总统|写一篇|作文|写代码|星座|算命";
    GREETING = r"^(?:hi|hello|hey|hiya|howdy|yo|good (?:morning|afternoon|evening)|greetings|你好|您好|嗨|哈喽|哈啰|早上好|晚上好|下午好|在吗)(?:\s+there)?[\s!.,~?]*$";
    GREETING_PREFIX = r"^(?:hi|hello|hey|你好|您好|嗨|哈喽)(?:\s+there)?[\s!.,~]+";
    THANKS = r"^(?:thanks?(?:\s+you)?(?:\s+so\s+much|\s+a\s+lot)?|thx|ty|cheers|great,?\s+thanks|ok,?\s+thanks|谢谢(?:你|您)?|多谢|感谢|好的谢谢|谢啦)[\s!.,~]*$";
    AFFIRM = r"^(?:yes|yeah|yep|yup|sure|ok|okay|confirm(?:ed)?|go ahead|do it|proceed|approve(?:d)?|y|是|是的|好|好的|确认|可以|行|对|嗯|同意|没问题)[\s!.,~]*$";
    DENY = r"^(?:no|nope|nah|cancel|never ?mind|stop|don'?t|n|不|不要|不用|算了|否|取消|不了)[\s!.,~]*$";
    HELP = r"^(?:help|\?|menu)[\s!.?]*$|\bwhat can you do\b|\bwhat do you do\b|\bhow (?:does|do) (?:this|you|it) work\b|\bwhat can i (?:say|ask|do)\b|\bhow can you help\b|\bwho are you\b|帮助|你能做什么|你会什么|你可以做什么|能帮我做什么|怎么用|你是谁";

    RETURN = r"\b(?:return|refund|send (?:it|them) back|exchange)\b|退货|退款|换货";
    CHANGE_ADDRESS = r"\b(?:change|update|edit|switch)\s+(?:the\s+|my\s+)?(?:shipping\s+|delivery\s+)?address\b|\bship\s+(?:it\s+)?to\s+(?:a\s+)?(?:different|another|new)\s+address\b|(?:改|修改|更改|换)(?:一下)?(?:收货)?地址";
    ADD_ADDRESS = r"\b(?:add|new|create|save)\s+(?:an?\s+|my\s+)?(?:new\s+)?(?:shipping\s+|delivery\s+)?address\b|\b(?:delete|remove)\s+(?:my\s+|the\s+|an?\s+)?(?:shipping\s+)?address\b|(?:新增|添加|增加|新建|删除)(?:一个)?(?:收货)?地址";
    TOP_UP = r"\btop\s*up\b|\badd\s+(?:money|funds|credit)\b|\brecharge\b|充值";
    ADD_CARD = r"\b(?:add|save|link|register)\s+(?:a\s+|my\s+|new\s+)*(?:credit\s+|debit\s+)?card\b|(?:添加|绑定|新增)(?:一张)?(?:银行卡|信用卡|卡)";
    REVIEW = r"\b(?:review|rate|rating)\b|评价|评论|打分";

    CHECK_OUT_NEXT = r"\bcheck\s*out\s+(\w+)(?:\s+(\w+))?";
    CHECKOUT = r"\bcheck\s*out\b|\bcheckout\b|\bplace\s+(?:the\s+|my\s+|an\s+|this\s+)?order\b|\bcomplete\s+(?:the\s+|my\s+)?(?:purchase|order)\b|\bsubmit\s+(?:the\s+|my\s+)?order\b|\bproceed\s+to\s+(?:checkout|payment)\b|结账|下单|结算|提交订单";
    PAYMENT_METHODS = r"\bpayment\s+(?:methods?|options?)\b|\b(?:my|saved)\s+cards\b|\bwhich\s+cards?\b|\bhow\s+can\s+i\s+pay\b|支付方式|付款方式|我的卡|银行卡列表";
    COUPON = r"\b(?:coupons?|vouchers?|promo(?:\s+codes?)?|promotions?|discounts?(?:\s+codes?)?|deals?)\b|优惠券|优惠|折扣|打折|券";
    CLAIM = r"\b(?:claim|redeem|grab|collect|get)\b|领取|领|要";
    CLAIM_ALONE = r"\b(?:claim|redeem)\b|领取";
    BARE_NUMBER = r"^#?\s*\d{1,2}[\s.!]*$";
    DESCRIBED_ONE = r"\bthe\s+[a-z0-9][a-z0-9 -]*?\s+ones?\b|(?:红|蓝|黑|白|绿|灰|黄|紫|橙|粉)色?的(?:那个|那款|那件|那双)";
    MY_COUPONS = r"\b(?:my|claimed|i have|i've got|i got)\s+(?:coupons?|vouchers?)\b|\bcoupons?\s+(?:i|i've)\s+(?:have|claimed|got)\b|我的优惠券|我的券|我领的|已领";
    CLEAR_CART = r"\b(?:clear|empty|reset|wipe)\s+(?:out\s+)?(?:my\s+|the\s+)?(?:shopping\s+)?(?:cart|basket)\b|\b(?:remove|delete)\s+(?:everything|all(?:\s+items)?)\b(?:\s+from\s+(?:my\s+|the\s+)?(?:cart|basket))?|\bstart\s+over\b|清空(?:购物车)?|购物车(?:全部)?清空";
    REMOVE = r"\b(?:remove|delete|drop)\b|\btake\s+(?:out|off)\b|\btake\s+\S+(?:\s+\S+)?\s+(?:out|off)\b|\bget\s+rid\s+of\b|\bdon'?t\s+want\b|删除|删掉|删了|移除|去掉|拿掉|不要(?:了|这个|那个|第)";
    SET_QTY = r"\b(?:change|set|update|make|increase|decrease|reduce|bump|adjust)\b.*\b(?:quantity|qty|amount|to\s+\d+|to\s+(?:one|two|three|four|five|six|seven|eight|nine|ten))\b|\b(?:make|set)\s+(?:it|that|them)\s+\d+\b|\bquantity\b.*\bto\b|(?:数量|改成|改为|改到|设为|设成|变成)\s*(?:为|成|到)?\s*(?:\d|[一二两三四五六七八九十])";
    CANCEL_ORDER = r"\bcancel\b.*\b(?:order|it|that|this|purchase|ord_[a-z0-9_-]+|payment)\b|取消(?:这个|那个|我的|最近的)?(?:订单|这单|那单|它)|(?:订单|这单)(?:不要了|取消)|退单";
    PAY = r"\bpay(?:ing)?\b|\bmake\s+(?:the\s+)?payment\b|付款|支付|付钱|结账付款|买单";
    WALLET_WORD = r"\bwallet\b|钱包|余额";
    CARD_WORD = r"\b(?:card|visa|mastercard|amex|credit|debit)\b|信用卡|银行卡|卡";
    BUY = r"\b(?:buy|purchase)\b|\border\s+(?:the|this|that|it|them|one)\b|买|购买";
    BUY_ZH_REF = r"买\s*(?:第|这|那|最后|最便宜|便宜|最贵|它)";
    BUY_ZH_CHECKOUT = r"^(?:我)?(?:就|直接|立即|马上|现在)?(?:购买|买)(?:它|了|吧|下来|下)?[\s!.,~]*$";
    RECEIPT = r"\b(?:i\s+)?(?:have\s+|'ve\s+)?(?:received|got)\s+(?:it|my\s+(?:order|package|parcel)|the\s+(?:order|package|parcel))\b|\bconfirm\s+(?:the\s+)?(?:receipt|delivery)\b|\bmark\s+(?:it|the\s+order)\s+(?:as\s+)?received\b|确认收货|收到货了|已收货|收到了";
    ORDER_STATUS = r"\bwhere(?:'?s|\s+is|\s+are)\b.*\b(?:order|package|parcel|stuff|delivery|shipment|purchase)\b|\b(?:order|delivery|shipping|shipment)\s+status\b|\bstatus\s+of\s+(?:my\s+)?(?:order|ord_)|\btrack(?:ing)?\s+(?:my|the|an?|it|this|that|order|package|parcel|shipment|delivery|ord_)|\btracking\s+(?:number|info|information|status|code)\b|^track(?:ing)?[\s?.!]*$|\bha(?:s|ve)\s+(?:it|my\s+order|my\s+package|they|the\s+order)\s+(?:shipped|arrived|been\s+shipped)\b|\bwhen\s+will\s+(?:it|my\s+order|my\s+package|my\s+stuff)\s+(?:arrive|ship|come|be\s+delivered)\b|\bis\s+my\s+order\b|\b(?:my\s+)?(?:last|latest|recent|newest)\s+order\b|\bord_[a-z0-9_-]+|到哪|物流|快递|发货了|发货没|什么时候到|到了吗|订单(?:的)?(?:状态|情况|进度)|最近的订单|最新的订单|上一个订单";
    PAST_PURCHASES = r"\bwhat\s+(?:did|have)\s+i\s+(?:buy|bought|order(?:ed)?|purchased?)\b|\bpurchase\s+history\b|\bmy\s+purchases\b|买了什么|买过什么|我买的";
    ORDERS = r"\b(?:my|all|past|previous|recent|unpaid|pending|paid|shipped|delivered|cancell?ed|completed)\s+orders\b|\border\s+history\b|\b(?:show|list|see|view)\s+(?:me\s+)?(?:my\s+|all\s+)?orders\b|^orders?[\s?.!]*$|我的订单|订单列表|所有订单|历史订单|全部订单|订单记录|查看订单|看看订单|^订单[\s?.!]*$|(?:待付款|未付款|已付款|已发货|已完成|已取消)的订单";
    WALLET = r"\b(?:my|wallet|account|the)\s+balance\b|^(?:wallet\s+)?balance[\s?.!]*$|\bcheck\s+(?:my\s+)?(?:wallet\s+)?balance\b|\bmy\s+wallet\b|\bhow\s+much\s+(?:money\s+)?(?:do\s+i\s+have|is\s+in\s+my\s+wallet|have\s+i\s+got)\b|\bwallet\s*\??$|余额|我的钱包|钱包里";
    ADDRESSES = r"\b(?:my|shipping|delivery|saved|default)\s+address(?:es)?\b|\bwhere\s+(?:do|will)\s+you\s+ship\b|^address(?:es)?[\s?.!]*$|地址";
    PROFILE = r"\bwho\s+am\s+i\b|\bmy\s+(?:profile|account|username|user\s*name|details)\b|\b(?:signed|logged)\s+in\s+as\b|我是谁|个人资料|我的账户|我的账号|我的信息|用户名";
    CATEGORIES = r"\bcategor(?:y|ies)\b|\bwhat\s+(?:do\s+you|does\s+the\s+shop|can\s+i)\s+(?:sell|buy|have|carry)\b|\bwhat\s+kinds?\s+of\b|\bdepartments?\b|分类|类目|类别|都卖什么|卖什么|有哪些类";
    ADD = r"\badd\b|\bput\b|\bthrow\b.*\bin\b|\bi'?ll\s+(?:take|have|get)\b|\bi\s+(?:want|need|'d like|would like)\s+(?:the|this|that|it|one|both|#|\d+\s+of|\d+\s+x)\b|\b(?:get|give|grab)\s+me\s+(?:the|this|that|one|\d)\b|\btake\s+(?:the|this|that)\b|加入|加到|加进|放进|放入|放到|加购|添加到|加(?:一|两|\d)?(?:件|个|双)?(?:到|进)?购物车|来(?:一|两|\d|几)(?:件|个|双|份)|^(?:我)?要(?:第|这|那|最后|最便宜|便宜|最贵)|拿(?:第|这|那)|选(?:第|这|那)";
    CART = r"\b(?:cart|basket|trolley)\b|购物车";
    SHOW = r"\b(?:show|see|view|open|display|describe|details?|detail|info|information|specs?)\b|\btell\s+me\s+(?:more\s+)?about\b|\bmore\s+about\b|\bwhat\s+about\b|\bhow\s+about\b|\blook\s+at\b|\bwhat\s+(?:sizes|colou?rs|options)\b|看看|查看|看一下|详情|详细|介绍|怎么样|什么颜色|什么尺码|有什么(?:颜色|尺码|款式)";
    SEARCH = r"\b(?:find|search|look(?:ing)?\s+for|show\s+me|i\s+(?:want|need|'m\s+looking)|i'd\s+like|do\s+you\s+(?:have|sell|carry)|got\s+any|any|recommend|suggest|browse|shop\s+for)\b|找|搜|有没有|有什么|推荐|想要|想买|我要|给我看";
    QUESTION = r"\?|\b(?:how|why|what|when|who|which|can|could|would|is|are|does|do|should)\b|怎么|为什么|什么|吗|呢|如何|能不能|可不可以";
    REF_FILLER = r"\b(?:the|one|please|ok|okay|yes|pls|show|me|see|view|open|details?|about|more|tell|what|how|let|s|look|at|of|them|those|these|item|product|result|i|want|like|'d|like|to|that)\b|[,.!?~]|个|那|吧|呢|看看|查看|详情|看一下|要|我|的";
}

/// The intent of one user message.
pub fn detect(raw: &str) -> Intent {
    let full = normalize(raw);
    if full.is_empty() {
        return Intent::Help;
    }
    // The shopper's own words for a message or a comment: whatever they say is text to send, not a request.
    if let Some(request) = social::writing(raw) {
        return Intent::Social(request);
    }
    if other_user(&full) {
        return Intent::OtherUser;
    }
    if found(&OUT_OF_SCOPE_EN, &full) || found(&OUT_OF_SCOPE_ZH, &full) {
        return Intent::OutOfScope;
    }
    // The same reading of yes and no the guard uses ("sure, do it", "no thanks"), then the planner's own.
    match tokshop_chat::approval::classify(raw, "") {
        tokshop_chat::approval::Reply::Approve => return Intent::Affirm,
        tokshop_chat::approval::Reply::Reject => return Intent::Deny,
        tokshop_chat::approval::Reply::Other => {}
    }
    for (re, intent) in [
        (&GREETING, Intent::Greeting),
        (&THANKS, Intent::Thanks),
        (&AFFIRM, Intent::Affirm),
        (&DENY, Intent::Deny),
    ] {
        if found(re, &full) {
            return intent;
        }
    }
    let mut t = full.clone();
    cut(&GREETING_PREFIX, &mut t);
    let t = t.trim().to_owned();
    if found(&HELP, &t) {
        return Intent::Help;
    }
    if let Some(request) = social::reading(&t) {
        return Intent::Social(request);
    }
    account_or_order_intent(raw, &t)
        .or_else(|| product_intent(&t))
        .unwrap_or_else(|| fallback(&t))
}

/// Whether the message asks about another user's orders or account.
fn other_user(t: &str) -> bool {
    const AUDIENCE: &[&str] = &[
        "my", "men", "women", "woman", "man", "kid", "kids", "child", "children", "baby", "girl",
        "girls", "boy", "boys", "lady", "ladies", "today", "it", "that", "what", "where", "who",
        "there", "here", "let", "this", "everyone", "he", "she", "unisex", "youth", "junior",
        "toddler",
    ];
    if let Some(caps) = super::text::captures(&OTHER_USER_POSSESSIVE, t) {
        let owner = caps.get(1).map(|m| m.as_str()).unwrap_or("");
        if !AUDIENCE.contains(&owner) {
            return true;
        }
    }
    // "orders for bob" (but "orders for me", "cart for the trip" are the shopper's own).
    const NOT_A_PERSON: &[&str] = &[
        "me",
        "my",
        "myself",
        "us",
        "our",
        "ourselves",
        "the",
        "this",
        "that",
        "these",
        "those",
        "a",
        "an",
        "it",
        "them",
        "today",
        "yesterday",
        "last",
        "next",
        "all",
        "each",
        "every",
        "one",
        "more",
        "over",
        "under",
        "less",
        "up",
        "delivery",
        "shipping",
        "payment",
    ];
    if let Some(caps) = super::text::captures(&OTHER_USER_FOR, t) {
        let owner = caps.get(1).map(|m| m.as_str()).unwrap_or("");
        if !NOT_A_PERSON.contains(&owner) && !owner.chars().all(|c| c.is_ascii_digit()) {
            return true;
        }
    }
    for re in [&OTHER_USER_BETWEEN, &OTHER_USER_BETWEEN_ZH] {
        if let Some(caps) = super::text::captures(re, t) {
            let me = |i| matches!(caps.get(i).map(|m| m.as_str()), Some("me" | "i" | "myself"));
            if !me(1) && !me(2) {
                return true;
            }
        }
    }
    if found(&OTHER_USER_INBOX_ZH, t) {
        return true;
    }
    if found(&SELF_SESSION, t) {
        return false;
    }
    found(&OTHER_USER_EN, t)
        || found(&OTHER_USER_ZH, t)
        || found(&OTHER_USER_PRONOUN, t)
        || found(&OTHER_USER_NAMED_ZH, t)
}

/// Unsupported requests, checkout, payment, cart edits, orders, wallet, addresses, profile and categories.
fn account_or_order_intent(raw: &str, t: &str) -> Option<Intent> {
    let unsupported: [(&Re, Unsupported); 6] = [
        (&CHANGE_ADDRESS, Unsupported::ChangeAddress),
        (&ADD_ADDRESS, Unsupported::AddAddress),
        (&TOP_UP, Unsupported::TopUp),
        (&ADD_CARD, Unsupported::AddCard),
        (&RETURN, Unsupported::Return),
        (&REVIEW, Unsupported::Review),
    ];
    for (re, what) in unsupported {
        if found(re, t) {
            return Some(Intent::Unsupported(what));
        }
    }
    let order_id = slots::order_id(raw);
    if is_checkout(t) {
        return Some(Intent::Checkout {
            text: t.to_owned(),
            from_buy: false,
        });
    }
    if found(&PAYMENT_METHODS, t) {
        return Some(Intent::PaymentMethods);
    }
    if found(&COUPON, t) {
        let request = ItemRequest::parse(t);
        if found(&MY_COUPONS, t) {
            return Some(Intent::MyCoupons);
        }
        if found(&CLAIM, t) {
            return Some(Intent::ClaimCoupon(request));
        }
        return Some(Intent::ProductCoupons(request));
    }
    if found(&CLAIM_ALONE, t) {
        return Some(Intent::ClaimCoupon(ItemRequest::parse(t)));
    }
    if found(&CLEAR_CART, t) {
        return Some(Intent::ClearCart);
    }
    if found(&SET_QTY, t) {
        let mut text = t.to_owned();
        let quantity = slots::target_quantity(&mut text);
        let mut request = ItemRequest::parse(&text);
        request.quantity = quantity;
        if let Some(n) = quantity {
            return Some(if n == 0 {
                Intent::Remove(request)
            } else {
                Intent::SetQuantity(request, n)
            });
        }
    }
    if found(&CANCEL_ORDER, t) {
        return Some(Intent::CancelOrder { order_id });
    }
    if found(&REMOVE, t) {
        return Some(Intent::Remove(ItemRequest::parse(t)));
    }
    if found(&PAY, t) {
        let method = if found(&WALLET_WORD, t) {
            PayMethod::Wallet
        } else if found(&CARD_WORD, t) {
            PayMethod::Card {
                last4: slots::card_last4(t),
            }
        } else {
            PayMethod::Unspecified
        };
        return Some(Intent::Pay { method, order_id });
    }
    if found(&PAST_PURCHASES, t) {
        return Some(Intent::ListOrders {
            status: slots::order_status_filter(t),
        });
    }
    if let Some(intent) = buy_intent(t) {
        return Some(intent);
    }
    if found(&RECEIPT, t) {
        return Some(Intent::ConfirmReceipt { order_id });
    }
    if found(&ORDERS, t) && !found(&ORDER_STATUS, t) {
        return Some(Intent::ListOrders {
            status: slots::order_status_filter(t),
        });
    }
    if found(&ORDER_STATUS, t) {
        return Some(Intent::OrderStatus { order_id });
    }
    let simple: [(&Re, Intent); 4] = [
        (&WALLET, Intent::Wallet),
        (&ADDRESSES, Intent::Addresses),
        (&PROFILE, Intent::Profile),
        (&CATEGORIES, Intent::Categories),
    ];
    simple
        .into_iter()
        .find(|(re, _)| found(re, t))
        .map(|(_, intent)| intent)
}

/// "check out", "checkout", "place the order", "结账"; but "check out these jackets" is about looking.
fn is_checkout(t: &str) -> bool {
    if !found(&CHECKOUT, t) {
        return false;
    }
    const LOOKING: &[&str] = &[
        "these", "those", "some", "a", "an", "your", "our", "this", "that", "what", "how",
    ];
    const CART_WORDS: &[&str] = &[
        "cart",
        "basket",
        "order",
        "items",
        "stuff",
        "everything",
        "it",
        "them",
    ];
    let Some(caps) = super::text::captures(&CHECK_OUT_NEXT, t) else {
        return true;
    };
    let next = caps.get(1).map(|m| m.as_str()).unwrap_or("");
    let after = caps.get(2).map(|m| m.as_str()).unwrap_or("");
    if LOOKING.contains(&next) {
        return false;
    }
    if next == "the" || next == "my" {
        return CART_WORDS.contains(&after) || after.is_empty();
    }
    true
}

/// "buy the second one" buys that product; "buy it", "buy now", "买吧" check out; "buy trail shoes" is left to
/// the search below (unless it names options of the product in focus, which the planner finds out).
fn buy_intent(t: &str) -> Option<Intent> {
    if found(&BUY_ZH_CHECKOUT, t) {
        return Some(Intent::Checkout {
            text: t.to_owned(),
            from_buy: true,
        });
    }
    if !found(&BUY, t) {
        return None;
    }
    let request = ItemRequest::parse(t);
    if found(&BUY_ZH_REF, t) || matches!(request.reference, Some(r) if r != Reference::This) {
        return Some(Intent::Buy(request));
    }
    let filters = slots::search_filters(&request.text);
    if filters.has_filters() {
        return Some(Intent::Search(filters));
    }
    const CHECKOUT_WORDS: &[&str] = &[
        "now",
        "everything",
        "all",
        "cart",
        "it",
        "them",
        "this",
        "that",
        "right",
        "away",
    ];
    let rest: Vec<String> = super::text::ascii_words(&filters.query)
        .into_iter()
        .filter(|w| !CHECKOUT_WORDS.contains(&w.as_str()))
        .collect();
    if rest.is_empty() && !filters.query.chars().any(super::text::is_cjk) {
        return Some(Intent::Checkout {
            text: t.to_owned(),
            from_buy: true,
        });
    }
    if t.chars().any(super::text::is_cjk) {
        return Some(Intent::Search(filters));
    }
    Some(Intent::Buy(request))
}

/// Adding, viewing the cart, showing a product, searching.
fn product_intent(t: &str) -> Option<Intent> {
    if found(&ADD, t) {
        return Some(Intent::Add(ItemRequest::parse(t)));
    }
    if found(&CART, t) {
        return Some(Intent::ViewCart);
    }
    let request = ItemRequest::parse(t);
    // A bare "2" right after a list picks its second item.
    if found(&BARE_NUMBER, t) {
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<usize>() {
            return Some(Intent::Show(ItemRequest {
                reference: Some(Reference::Ordinal(n)),
                quantity: None,
                text: String::new(),
            }));
        }
    }
    if request.reference.is_some() {
        let mut rest = request.text.clone();
        while cut(&REF_FILLER, &mut rest).is_some() {}
        // "show me the second one", "第二个": a reference and nothing else worth searching for.
        if found(&SHOW, t) || rest.trim().is_empty() || !found(&SEARCH, t) {
            let filters = slots::search_filters(&request.text);
            if filters.query.is_empty() || found(&SHOW, t) {
                return Some(Intent::Show(request));
            }
        }
    }
    // "tell me about the swift one", "the blue one": a listed item described by its title or options.
    if found(&DESCRIBED_ONE, t) && !found(&SEARCH, t) {
        return Some(Intent::Show(request));
    }
    let filters = slots::search_filters(t);
    if found(&SEARCH, t) || filters.has_filters() {
        return Some(Intent::Search(filters));
    }
    if found(&SHOW, t) && !filters.query.is_empty() && request.reference.is_none() {
        return Some(Intent::Search(SearchFilters {
            open_single: true,
            ..filters
        }));
    }
    None
}

/// A message matching nothing: a short phrase without a question is taken as a search ("trail shoes",
/// "跑鞋"); anything else gets a clarifying question.
fn fallback(t: &str) -> Intent {
    let filters = slots::search_filters(t);
    let words = t.split_whitespace().count();
    let cjk = t.chars().filter(|c| super::text::is_cjk(*c)).count();
    let short = words <= 5 && cjk <= 12;
    if short && !filters.query.is_empty() && !found(&QUESTION, t) {
        return Intent::Search(filters);
    }
    Intent::Unknown
}

#[cfg(test)]
mod tests;
